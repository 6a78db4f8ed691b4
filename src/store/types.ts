/**
 * The control plane's store: one interface, two adapters (embedded SQLite via node:sqlite, PostgreSQL via
 * pg), both through kysely. Records are plain data; private keys are stored encrypted (see secrets.ts)
 * and never leave the store decrypted except through `secretKeyPem` for the edge and the managed CA.
 *
 * Every write is one transaction and bumps the store's version; `watch` tells every process (in-process
 * for SQLite, LISTEN/NOTIFY plus a version poll for PostgreSQL) so the edge rebuilds its Snapshot.
 */
import type { ForwardSpec, MtlsMode, PathRule } from "../config/types.ts";
import type { AccessReader, AccessWriter } from "./access.ts";
import type { FunctionsReader, FunctionsWriter } from "./functions.ts";
import type { Ruleset, RulesetPhase, RulesetSummary } from "./rulesets.ts";

export type {
  RuleAction,
  RuleActionParameters,
  Ruleset,
  RulesetPhase,
  RulesetRule,
  RulesetSummary,
} from "./rulesets.ts";

/** 32 lower-case hex characters, as Cloudflare's ids. */
export type Id = string;
/** ISO 8601 UTC with seconds, e.g. `2026-11-25T07:00:00Z`. */
export type Timestamp = string;

export interface Account {
  id: Id;
  name: string;
  createdAt: Timestamp;
}

export interface Zone {
  id: Id;
  accountId: Id;
  /** The zone's domain, e.g. `example.test`; hostnames of the zone are it or end with `.` + it. */
  name: string;
  createdAt: Timestamp;
}

/** An uploaded certificate (`accounts/{id}/mtls_certificates`): a CA to trust, or a leaf with its key. */
export interface MtlsCertificate {
  id: Id;
  accountId: Id;
  name: string | null;
  ca: boolean;
  /** PEM, the chain as uploaded (leaf first). */
  certificates: string;
  /** True when a private key was uploaded with it (it is stored encrypted, never returned). */
  hasPrivateKey: boolean;
  issuer: string;
  serialNumber: string;
  signature: string;
  expiresOn: Timestamp;
  uploadedOn: Timestamp;
  updatedAt: Timestamp;
}

/** A hostname the edge serves: everything the edge config file can say about one host. */
export interface Hostname {
  id: Id;
  zoneId: Id;
  hostname: string;
  isDefault: boolean;
  /** An MtlsCertificate with a private key (ca: false) serving TLS for this name. */
  serverCertificateId: Id | null;
  mtls: {
    mode: MtlsMode;
    paths: PathRule[];
    staleCrl: "deny" | "allow";
    maxChainDepth: number;
    /** CRL URLs or files the edge loads for this host, beyond the managed CA's own revocations. */
    crls: string[];
    ocsp: { enabled: boolean; timeoutMs: number };
  };
  origin: {
    url: string;
    /** An MtlsCertificate (ca: true) that verifies the origin; system roots when null. */
    caCertificateId: Id | null;
    servername: string | null;
    connectTimeoutMs: number;
    responseTimeoutMs: number;
    bodyTimeoutMs: number;
  };
  forward: ForwardSpec[];
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** Which CA a hostname trusts for client certificates. `mtlsCertificateId: null` = the zone's managed CA. */
export interface HostnameAssociation {
  zoneId: Id;
  mtlsCertificateId: Id | null;
  hostname: string;
}

/** The zone's managed CA, created on first use; issues `client_certificates`. */
export interface ManagedCa {
  id: Id;
  zoneId: Id;
  name: string;
  certificatePem: string;
  createdAt: Timestamp;
}

export type ClientCertificateStatus = "active" | "pending_revocation" | "revoked" | "pending_reactivation";

export interface ClientCertificate {
  id: Id;
  zoneId: Id;
  caId: Id;
  certificatePem: string;
  csr: string;
  commonName: string;
  country: string;
  location: string;
  organization: string;
  organizationalUnit: string;
  /** Uppercase hex, as the edge's revocation sets hold it. */
  serialNumber: string;
  fingerprintSha256: string;
  ski: string;
  signature: string;
  status: ClientCertificateStatus;
  validityDays: number;
  issuedOn: Timestamp;
  expiresOn: Timestamp;
  revokedOn: Timestamp | null;
}

/** Authenticated origin pull: a zone-wide certificate (hostname null) or one for a hostname. */
export interface OriginPullCertificate {
  id: Id;
  zoneId: Id;
  hostname: string | null;
  certificatePem: string;
  enabled: boolean;
  createdAt: Timestamp;
}

export type TokenScope =
  | { kind: "admin" }
  | { kind: "account"; accountId: Id; access: "read" | "edit" }
  | { kind: "zone"; zoneId: Id; access: "read" | "edit" };

export interface ApiToken {
  id: Id;
  name: string;
  scopes: TokenScope[];
  status: "active" | "revoked";
  createdAt: Timestamp;
  lastUsedAt: Timestamp | null;
}

export interface AuditEntry {
  id: Id;
  at: Timestamp;
  tokenId: Id | null;
  /** e.g. `mtls_certificate.create`, `client_certificate.revoke`. */
  action: string;
  /** e.g. `accounts/<id>/mtls_certificates/<id>`. */
  resource: string;
  /** JSON snapshots without secrets; null for create/delete sides. */
  before: unknown;
  after: unknown;
}

/** A record whose private key is kept encrypted beside it. */
export type SecretOwner =
  | { kind: "mtls_certificate"; id: Id }
  | { kind: "managed_ca"; id: Id }
  | { kind: "origin_pull"; id: Id }
  | { kind: "access_key"; id: Id };

export interface Page<T> {
  items: T[];
  total: number;
}

/** Reads, inside or outside a transaction. Missing records are `undefined`, never an error. */
export interface StoreReader {
  getAccount(id: Id): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;
  getZone(id: Id): Promise<Zone | undefined>;
  listZones(filter?: { accountId?: Id; name?: string }): Promise<Zone[]>;
  getMtlsCertificate(id: Id): Promise<MtlsCertificate | undefined>;
  listMtlsCertificates(filter: { accountId: Id; ca?: boolean; name?: string }): Promise<MtlsCertificate[]>;
  getHostname(id: Id): Promise<Hostname | undefined>;
  getHostnameByName(hostname: string): Promise<Hostname | undefined>;
  listHostnames(filter?: { zoneId?: Id }): Promise<Hostname[]>;
  listHostnameAssociations(filter?: {
    zoneId?: Id;
    mtlsCertificateId?: Id | null;
  }): Promise<HostnameAssociation[]>;
  getManagedCa(zoneId: Id): Promise<ManagedCa | undefined>;
  getClientCertificate(zoneId: Id, id: Id): Promise<ClientCertificate | undefined>;
  listClientCertificates(filter: {
    zoneId?: Id;
    status?: ClientCertificateStatus;
    limit?: number;
    offset?: number;
  }): Promise<Page<ClientCertificate>>;
  listOriginPullCertificates(filter?: { zoneId?: Id }): Promise<OriginPullCertificate[]>;
  getOriginPullEnabled(zoneId: Id): Promise<boolean>;
  /** The token whose secret hashes to `hash` (SHA-256 hex of the bearer string). */
  getApiTokenByHash(hash: string): Promise<ApiToken | undefined>;
  getApiToken(id: Id): Promise<ApiToken | undefined>;
  listApiTokens(): Promise<ApiToken[]>;
  listAudit(filter?: {
    action?: string;
    resource?: string;
    limit?: number;
    offset?: number;
  }): Promise<Page<AuditEntry>>;
  /** The decrypted private key (PEM) of a record that has one; undefined when it has none. */
  secretKeyPem(owner: SecretOwner): Promise<string | undefined>;
  /** Monotonic: bumped by every committed write. */
  version(): Promise<number>;
  /** The zone's entrypoint ruleset of a phase, rules in order (rulesets.ts). */
  getRuleset(zoneId: Id, phase: RulesetPhase): Promise<Ruleset | undefined>;
  listRulesets(zoneId: Id): Promise<RulesetSummary[]>;
  /** Access applications, policies, CAs, service tokens and signing keys (access.ts). */
  readonly access: AccessReader;
  /** Edge functions and their routes (functions.ts). */
  readonly functions: FunctionsReader;
}

/** Writes; only inside `Store.transaction`. Unique or reference violations throw StoreError. */
export interface StoreWriter extends StoreReader {
  insertAccount(account: Account): Promise<void>;
  insertZone(zone: Zone): Promise<void>;
  deleteZone(id: Id): Promise<void>;
  insertMtlsCertificate(certificate: MtlsCertificate, privateKeyPem?: string): Promise<void>;
  deleteMtlsCertificate(id: Id): Promise<void>;
  /** Insert or replace by id. */
  putHostname(hostname: Hostname): Promise<void>;
  deleteHostname(id: Id): Promise<void>;
  /** Replaces the hostnames associated with one CA (null: the managed CA) in a zone. */
  replaceHostnameAssociations(
    zoneId: Id,
    mtlsCertificateId: Id | null,
    hostnames: readonly string[],
  ): Promise<void>;
  insertManagedCa(ca: ManagedCa, privateKeyPem: string): Promise<void>;
  insertClientCertificate(certificate: ClientCertificate): Promise<void>;
  updateClientCertificateStatus(
    id: Id,
    status: ClientCertificateStatus,
    revokedOn: Timestamp | null,
  ): Promise<void>;
  insertOriginPullCertificate(certificate: OriginPullCertificate, privateKeyPem: string): Promise<void>;
  deleteOriginPullCertificate(id: Id): Promise<void>;
  setOriginPullEnabled(zoneId: Id, enabled: boolean): Promise<void>;
  insertApiToken(token: ApiToken, secretHash: string): Promise<void>;
  updateApiToken(id: Id, change: { status?: ApiToken["status"]; lastUsedAt?: Timestamp }): Promise<void>;
  /** Records one audit entry (id and time are filled in). */
  audit(entry: Omit<AuditEntry, "id" | "at">): Promise<void>;
  /** Insert or replace a ruleset (by id) with all its rules. */
  putRuleset(ruleset: Ruleset): Promise<void>;
  readonly access: AccessWriter;
  readonly functions: FunctionsWriter;
}

export interface Store extends StoreReader {
  readonly kind: "sqlite" | "postgres";
  /**
   * Runs `fn` in one transaction (serializable); all of it commits or none. A transaction that wrote
   * bumps the version, and watchers hear of it after the commit, in this process and every other one.
   */
  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T>;
  /** Calls `listener` with the new version after every committed write, from any process. */
  watch(listener: (version: number) => void): () => void;
  close(): Promise<void>;
}

export type StoreErrorCode = "not_found" | "conflict" | "in_use" | "invalid" | "unavailable";

/** Errors are values with a stable code; the API maps them to its envelope. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}
