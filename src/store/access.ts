/**
 * Access in the store (migration 0003_access): mTLS root CAs with their hostnames and per-hostname
 * settings, applications, their policies, service tokens (only a SHA-256 of each secret is kept) and the
 * account's JWT signing keys (private keys sealed like every other key, see secrets.ts).
 *
 * Reached as `store.access` / `tx.access`; writes go through the transaction's `write` (version bump,
 * savepoint, constraint errors named), exactly like the Writer's own.
 */
import type { Kysely, Selectable } from "kysely";
import type { PolicyRules, Selector } from "../access/policy.ts";
import { type ErrorNames, toStoreError } from "./errors.ts";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secrets.ts";
import { type Id, StoreError, type Timestamp } from "./types.ts";

// ---------------------------------------------------------------------------------------------------
// Records

export interface AccessCertificate {
  id: Id;
  accountId: Id;
  name: string;
  /** PEM of the CA certificate (chain allowed: root and intermediates), as normalized on upload. */
  certificate: string;
  /** SHA-256 of the first certificate's DER, lower-case hex. */
  fingerprint: string;
  associatedHostnames: string[];
  expiresOn: Timestamp;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface AccessCertificateSetting {
  hostname: string;
  chinaNetwork: boolean;
  clientCertificateForwarding: boolean;
}

export interface AccessApp {
  id: Id;
  accountId: Id;
  name: string;
  /** `host` or `host/path`, lower-case host. */
  domain: string;
  type: "self_hosted";
  /** Go duration; `0s` = check every request. */
  sessionDuration: string;
  /** The audience tag: 64 lower-case hex characters. */
  aud: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface AccessPolicy extends PolicyRules {
  id: Id;
  appId: Id;
  name: string;
  decision: "allow" | "deny" | "non_identity" | "bypass";
  precedence: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface AccessServiceToken {
  id: Id;
  accountId: Id;
  name: string;
  clientId: string;
  /** Go duration the token lasts from creation (or its last renewal). */
  duration: string;
  expiresAt: Timestamp;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** A JWT signing key: the private key is sealed in `secrets` (kind access_key), the certificate public. */
export interface AccessKey {
  kid: string;
  accountId: Id;
  /** Self-signed X.509 certificate of the public key (PEM), published as public_cert. */
  certificatePem: string;
  createdAt: Timestamp;
}

export interface AccessReader {
  listCertificates(accountId: Id): Promise<AccessCertificate[]>;
  getCertificate(id: Id): Promise<AccessCertificate | undefined>;
  listCertificateSettings(accountId: Id): Promise<AccessCertificateSetting[]>;
  listApps(accountId: Id): Promise<AccessApp[]>;
  getApp(id: Id): Promise<AccessApp | undefined>;
  /** Every policy of the app (or of every app of the account), by precedence. */
  listPolicies(filter: { appId: Id } | { accountId: Id }): Promise<AccessPolicy[]>;
  getPolicy(id: Id): Promise<AccessPolicy | undefined>;
  listServiceTokens(accountId: Id): Promise<AccessServiceToken[]>;
  getServiceToken(id: Id): Promise<AccessServiceToken | undefined>;
  /** Client id → SHA-256 (hex) of the secret, for the edge. */
  serviceTokenHashes(accountId: Id): Promise<Map<string, string>>;
  /** Newest first. */
  listKeys(accountId: Id): Promise<AccessKey[]>;
  keyPem(kid: string): Promise<string | undefined>;
  /** The account's key rotation interval in days, when one was set (`/access/keys`). */
  keyRotationDays(accountId: Id): Promise<number | undefined>;
}

export interface AccessWriter extends AccessReader {
  insertCertificate(certificate: AccessCertificate): Promise<void>;
  updateCertificate(certificate: AccessCertificate): Promise<void>;
  deleteCertificate(id: Id): Promise<void>;
  replaceCertificateSettings(accountId: Id, settings: readonly AccessCertificateSetting[]): Promise<void>;
  putApp(app: AccessApp): Promise<void>;
  /** Its policies go with it. */
  deleteApp(id: Id): Promise<void>;
  putPolicy(policy: AccessPolicy): Promise<void>;
  deletePolicy(id: Id): Promise<void>;
  insertServiceToken(token: AccessServiceToken, secretHash: string): Promise<void>;
  updateServiceToken(token: AccessServiceToken): Promise<void>;
  deleteServiceToken(id: Id): Promise<void>;
  insertKey(key: AccessKey, privateKeyPem: string): Promise<void>;
  deleteKey(kid: string): Promise<void>;
  setKeyRotationDays(accountId: Id, days: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Tables

interface AccessCertificatesTable {
  id: string;
  account_id: string;
  name: string;
  certificate: string;
  fingerprint: string;
  associated_hostnames: string;
  expires_on: string;
  created_at: string;
  updated_at: string;
}
interface AccessCertificateSettingsTable {
  account_id: string;
  hostname: string;
  china_network: number;
  client_certificate_forwarding: number;
}
interface AccessAppsTable {
  id: string;
  account_id: string;
  name: string;
  domain: string;
  type: string;
  session_duration: string;
  aud: string;
  created_at: string;
  updated_at: string;
}
interface AccessPoliciesTable {
  id: string;
  app_id: string;
  name: string;
  decision: string;
  include_rules: string;
  exclude_rules: string;
  require_rules: string;
  precedence: number;
  created_at: string;
  updated_at: string;
}
interface AccessServiceTokensTable {
  id: string;
  account_id: string;
  name: string;
  client_id: string;
  secret_hash: string;
  duration: string;
  expires_at: string;
  created_at: string;
  updated_at: string;
}
interface AccessKeysTable {
  kid: string;
  account_id: string;
  certificate_pem: string;
  created_at: string;
}
interface AccessKeySettingsTable {
  account_id: string;
  rotation_days: number;
}

type AccessDatabase = Database & {
  access_certificates: AccessCertificatesTable;
  access_certificate_settings: AccessCertificateSettingsTable;
  access_apps: AccessAppsTable;
  access_policies: AccessPoliciesTable;
  access_service_tokens: AccessServiceTokensTable;
  access_keys: AccessKeysTable;
  access_key_settings: AccessKeySettingsTable;
};

type IdTable = "access_certificates" | "access_apps" | "access_policies" | "access_service_tokens";
type AccountTable = "access_certificates" | "access_apps" | "access_service_tokens";

/** Migration 0003_access: only text and integer columns, constraints both dialects enforce. */
export async function createAccessTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("access_certificates")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("certificate", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("associated_hostnames", "text", (c) => c.notNull())
    .addColumn("expires_on", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("access_certificates_fingerprint", ["account_id", "fingerprint"])
    .execute();
  await db.schema
    .createTable("access_certificate_settings")
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("hostname", "text", (c) => c.notNull())
    .addColumn("china_network", "integer", (c) => c.notNull())
    .addColumn("client_certificate_forwarding", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_certificate_settings_pk", ["account_id", "hostname"])
    .execute();
  await db.schema
    .createTable("access_apps")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("domain", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("session_duration", "text", (c) => c.notNull())
    .addColumn("aud", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addUniqueConstraint("access_apps_domain", ["account_id", "domain"])
    .execute();
  await db.schema
    .createTable("access_policies")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("app_id", "text", (c) => c.notNull().references("access_apps.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("decision", "text", (c) => c.notNull())
    .addColumn("include_rules", "text", (c) => c.notNull())
    .addColumn("exclude_rules", "text", (c) => c.notNull())
    .addColumn("require_rules", "text", (c) => c.notNull())
    .addColumn("precedence", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("access_policies_app").on("access_policies").column("app_id").execute();
  await db.schema
    .createTable("access_service_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("client_id", "text", (c) => c.notNull().unique())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("duration", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("access_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("certificate_pem", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("access_key_settings")
    .addColumn("account_id", "text", (c) => c.primaryKey().references("accounts.id").onDelete("cascade"))
    .addColumn("rotation_days", "integer", (c) => c.notNull())
    .execute();
}

// ---------------------------------------------------------------------------------------------------
// Rows

const bool = (value: number): boolean => value !== 0;
const int = (value: boolean): number => (value ? 1 : 0);

const certificateRow = (c: AccessCertificate): AccessCertificatesTable => ({
  id: c.id,
  account_id: c.accountId,
  name: c.name,
  certificate: c.certificate,
  fingerprint: c.fingerprint,
  associated_hostnames: JSON.stringify(c.associatedHostnames),
  expires_on: c.expiresOn,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
});
const certificateRecord = (r: Selectable<AccessCertificatesTable>): AccessCertificate => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  certificate: r.certificate,
  fingerprint: r.fingerprint,
  associatedHostnames: JSON.parse(r.associated_hostnames) as string[],
  expiresOn: r.expires_on,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const appRow = (a: AccessApp): AccessAppsTable => ({
  id: a.id,
  account_id: a.accountId,
  name: a.name,
  domain: a.domain,
  type: a.type,
  session_duration: a.sessionDuration,
  aud: a.aud,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
});
const appRecord = (r: Selectable<AccessAppsTable>): AccessApp => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  domain: r.domain,
  type: r.type as AccessApp["type"],
  sessionDuration: r.session_duration,
  aud: r.aud,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const policyRow = (p: AccessPolicy): AccessPoliciesTable => ({
  id: p.id,
  app_id: p.appId,
  name: p.name,
  decision: p.decision,
  include_rules: JSON.stringify(p.include),
  exclude_rules: JSON.stringify(p.exclude),
  require_rules: JSON.stringify(p.require),
  precedence: p.precedence,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});
const policyRecord = (r: Selectable<AccessPoliciesTable>): AccessPolicy => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  decision: r.decision as AccessPolicy["decision"],
  include: JSON.parse(r.include_rules) as Selector[],
  exclude: JSON.parse(r.exclude_rules) as Selector[],
  require: JSON.parse(r.require_rules) as Selector[],
  precedence: Number(r.precedence),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const tokenRecord = (r: Selectable<AccessServiceTokensTable>): AccessServiceToken => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  clientId: r.client_id,
  duration: r.duration,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const keyRecord = (r: Selectable<AccessKeysTable>): AccessKey => ({
  kid: r.kid,
  accountId: r.account_id,
  certificatePem: r.certificate_pem,
  createdAt: r.created_at,
});

const keyOwner = (kid: string) => ({ kind: "access_key", id: kid }) as const;

// ---------------------------------------------------------------------------------------------------
// Reads and writes

export class AccessReads implements AccessReader {
  protected readonly db: Kysely<AccessDatabase>;
  protected readonly box: SecretBox;

  constructor(db: Kysely<Database>, box: SecretBox) {
    this.db = db as unknown as Kysely<AccessDatabase>;
    this.box = box;
  }

  protected async read<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, { what });
    }
  }

  /** One row by id, as a record. */
  protected byId<T>(table: IdTable, id: Id, what: string, record: (row: never) => T): Promise<T | undefined> {
    return this.read(`get ${what} ${id}`, async () => {
      const row = await this.db
        .selectFrom(table as "access_apps")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && record(row as never);
    });
  }

  /** The account's rows, oldest first. */
  protected ofAccount<T>(
    table: AccountTable,
    accountId: Id,
    what: string,
    record: (row: never) => T,
  ): Promise<T[]> {
    return this.read(`list ${what}`, async () => {
      const rows = await this.db
        .selectFrom(table as "access_apps")
        .selectAll()
        .where("account_id", "=", accountId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map((row) => record(row as never));
    });
  }

  listCertificates(accountId: Id): Promise<AccessCertificate[]> {
    return this.ofAccount("access_certificates", accountId, "access certificates", certificateRecord);
  }

  getCertificate(id: Id): Promise<AccessCertificate | undefined> {
    return this.byId("access_certificates", id, "access certificate", certificateRecord);
  }

  listCertificateSettings(accountId: Id): Promise<AccessCertificateSetting[]> {
    return this.read("list access certificate settings", async () => {
      const rows = await this.db
        .selectFrom("access_certificate_settings")
        .selectAll()
        .where("account_id", "=", accountId)
        .orderBy("hostname")
        .execute();
      return rows.map((r) => ({
        hostname: r.hostname,
        chinaNetwork: bool(r.china_network),
        clientCertificateForwarding: bool(r.client_certificate_forwarding),
      }));
    });
  }

  listApps(accountId: Id): Promise<AccessApp[]> {
    return this.ofAccount("access_apps", accountId, "access apps", appRecord);
  }

  getApp(id: Id): Promise<AccessApp | undefined> {
    return this.byId("access_apps", id, "access app", appRecord);
  }

  listPolicies(filter: { appId: Id } | { accountId: Id }): Promise<AccessPolicy[]> {
    return this.read("list access policies", async () => {
      let query = this.db.selectFrom("access_policies").selectAll("access_policies");
      if ("appId" in filter) query = query.where("app_id", "=", filter.appId);
      else {
        query = query
          .innerJoin("access_apps", "access_apps.id", "access_policies.app_id")
          .where("access_apps.account_id", "=", filter.accountId);
      }
      const rows = await query.orderBy("access_policies.precedence").orderBy("access_policies.id").execute();
      return rows.map(policyRecord);
    });
  }

  getPolicy(id: Id): Promise<AccessPolicy | undefined> {
    return this.byId("access_policies", id, "access policy", policyRecord);
  }

  listServiceTokens(accountId: Id): Promise<AccessServiceToken[]> {
    return this.ofAccount("access_service_tokens", accountId, "access service tokens", tokenRecord);
  }

  getServiceToken(id: Id): Promise<AccessServiceToken | undefined> {
    return this.byId("access_service_tokens", id, "access service token", tokenRecord);
  }

  serviceTokenHashes(accountId: Id): Promise<Map<string, string>> {
    return this.read("list access service token hashes", async () => {
      const rows = await this.db
        .selectFrom("access_service_tokens")
        .select(["client_id", "secret_hash"])
        .where("account_id", "=", accountId)
        .execute();
      return new Map(rows.map((r) => [r.client_id, r.secret_hash]));
    });
  }

  listKeys(accountId: Id): Promise<AccessKey[]> {
    return this.read("list access keys", async () => {
      const rows = await this.db
        .selectFrom("access_keys")
        .selectAll()
        .where("account_id", "=", accountId)
        .orderBy("created_at", "desc")
        .orderBy("kid")
        .execute();
      return rows.map(keyRecord);
    });
  }

  keyPem(kid: string): Promise<string | undefined> {
    return this.read(`get access key ${kid}`, async () => {
      const row = await this.db
        .selectFrom("secrets")
        .select(["iv", "ciphertext", "tag"])
        .where("owner_kind", "=", "access_key")
        .where("owner_id", "=", kid)
        .executeTakeFirst();
      return row && this.box.open(keyOwner(kid), row);
    });
  }

  keyRotationDays(accountId: Id): Promise<number | undefined> {
    return this.read(`get access key settings of account ${accountId}`, async () => {
      const row = await this.db
        .selectFrom("access_key_settings")
        .select("rotation_days")
        .where("account_id", "=", accountId)
        .executeTakeFirst();
      return row && Number(row.rotation_days);
    });
  }
}

/** The transaction's write: bumps the version once, runs `operation` under a savepoint, names errors. */
export type WriteStep = (names: ErrorNames, operation: () => Promise<void>) => Promise<void>;

export class AccessWrites extends AccessReads implements AccessWriter {
  readonly #write: WriteStep;

  constructor(db: Kysely<Database>, box: SecretBox, write: WriteStep) {
    super(db, box);
    this.#write = write;
  }

  #deleteById(table: IdTable, id: Id, what: string): Promise<void> {
    return this.#write({ what: `delete ${what} ${id}` }, async () => {
      const result = await this.db
        .deleteFrom(table as "access_apps")
        .where("id", "=", id)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n) throw new StoreError("not_found", `${what} ${id} does not exist`);
    });
  }

  insertCertificate(certificate: AccessCertificate): Promise<void> {
    return this.#write(
      {
        what: `insert access certificate ${certificate.id}`,
        unique: `this CA is already an Access certificate of account ${certificate.accountId}`,
        reference: ["invalid", `account ${certificate.accountId} does not exist`],
      },
      async () => {
        await this.db.insertInto("access_certificates").values(certificateRow(certificate)).execute();
      },
    );
  }

  updateCertificate(certificate: AccessCertificate): Promise<void> {
    const { id, account_id: _account, ...change } = certificateRow(certificate);
    return this.#write({ what: `update access certificate ${id}` }, async () => {
      const result = await this.db
        .updateTable("access_certificates")
        .set(change)
        .where("id", "=", id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n)
        throw new StoreError("not_found", `access certificate ${id} does not exist`);
    });
  }

  deleteCertificate(id: Id): Promise<void> {
    return this.#deleteById("access_certificates", id, "access certificate");
  }

  replaceCertificateSettings(accountId: Id, settings: readonly AccessCertificateSetting[]): Promise<void> {
    return this.#write(
      {
        what: `replace access certificate settings of account ${accountId}`,
        unique: "a hostname is listed twice",
        reference: ["invalid", `account ${accountId} does not exist`],
      },
      async () => {
        await this.db.deleteFrom("access_certificate_settings").where("account_id", "=", accountId).execute();
        if (settings.length === 0) return;
        await this.db
          .insertInto("access_certificate_settings")
          .values(
            settings.map((s) => ({
              account_id: accountId,
              hostname: s.hostname,
              china_network: int(s.chinaNetwork),
              client_certificate_forwarding: int(s.clientCertificateForwarding),
            })),
          )
          .execute();
      },
    );
  }

  putApp(app: AccessApp): Promise<void> {
    const row = appRow(app);
    const { id: _id, account_id: _account, aud: _aud, created_at: _created, ...change } = row;
    return this.#write(
      {
        what: `put access app ${app.id}`,
        unique: `an Access application for ${app.domain} already exists`,
        reference: ["invalid", `account ${app.accountId} does not exist`],
      },
      async () => {
        await this.db
          .insertInto("access_apps")
          .values(row)
          .onConflict((oc) => oc.column("id").doUpdateSet(change))
          .execute();
      },
    );
  }

  deleteApp(id: Id): Promise<void> {
    return this.#write({ what: `delete access app ${id}` }, async () => {
      await this.db.deleteFrom("access_policies").where("app_id", "=", id).execute();
      const result = await this.db.deleteFrom("access_apps").where("id", "=", id).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw new StoreError("not_found", `access app ${id} does not exist`);
    });
  }

  putPolicy(policy: AccessPolicy): Promise<void> {
    const row = policyRow(policy);
    const { id: _id, app_id: _app, created_at: _created, ...change } = row;
    return this.#write(
      {
        what: `put access policy ${policy.id}`,
        reference: ["invalid", `access app ${policy.appId} does not exist`],
      },
      async () => {
        await this.db
          .insertInto("access_policies")
          .values(row)
          .onConflict((oc) => oc.column("id").doUpdateSet(change))
          .execute();
      },
    );
  }

  deletePolicy(id: Id): Promise<void> {
    return this.#deleteById("access_policies", id, "access policy");
  }

  insertServiceToken(token: AccessServiceToken, secretHash: string): Promise<void> {
    return this.#write(
      {
        what: `insert access service token ${token.id}`,
        unique: `service token ${token.id} (or its client id) already exists`,
        reference: ["invalid", `account ${token.accountId} does not exist`],
      },
      async () => {
        await this.db
          .insertInto("access_service_tokens")
          .values({
            id: token.id,
            account_id: token.accountId,
            name: token.name,
            client_id: token.clientId,
            secret_hash: secretHash,
            duration: token.duration,
            expires_at: token.expiresAt,
            created_at: token.createdAt,
            updated_at: token.updatedAt,
          })
          .execute();
      },
    );
  }

  updateServiceToken(token: AccessServiceToken): Promise<void> {
    return this.#write({ what: `update access service token ${token.id}` }, async () => {
      const result = await this.db
        .updateTable("access_service_tokens")
        .set({
          name: token.name,
          duration: token.duration,
          expires_at: token.expiresAt,
          updated_at: token.updatedAt,
        })
        .where("id", "=", token.id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n)
        throw new StoreError("not_found", `access service token ${token.id} does not exist`);
    });
  }

  deleteServiceToken(id: Id): Promise<void> {
    return this.#deleteById("access_service_tokens", id, "access service token");
  }

  insertKey(key: AccessKey, privateKeyPem: string): Promise<void> {
    return this.#write(
      {
        what: `insert access key ${key.kid}`,
        unique: `access key ${key.kid} already exists`,
        reference: ["invalid", `account ${key.accountId} does not exist`],
      },
      async () => {
        await this.db
          .insertInto("access_keys")
          .values({
            kid: key.kid,
            account_id: key.accountId,
            certificate_pem: key.certificatePem,
            created_at: key.createdAt,
          })
          .execute();
        const sealed = this.box.seal(keyOwner(key.kid), privateKeyPem);
        await this.db
          .insertInto("secrets")
          .values({ owner_kind: "access_key", owner_id: key.kid, ...sealed })
          .execute();
      },
    );
  }

  deleteKey(kid: string): Promise<void> {
    return this.#write({ what: `delete access key ${kid}` }, async () => {
      await this.db
        .deleteFrom("secrets")
        .where("owner_kind", "=", "access_key")
        .where("owner_id", "=", kid)
        .execute();
      await this.db.deleteFrom("access_keys").where("kid", "=", kid).execute();
    });
  }

  setKeyRotationDays(accountId: Id, days: number): Promise<void> {
    return this.#write(
      {
        what: `set access key rotation of account ${accountId}`,
        reference: ["invalid", `account ${accountId} does not exist`],
      },
      async () => {
        await this.db
          .insertInto("access_key_settings")
          .values({ account_id: accountId, rotation_days: days })
          .onConflict((oc) => oc.column("account_id").doUpdateSet({ rotation_days: days }))
          .execute();
      },
    );
  }
}
