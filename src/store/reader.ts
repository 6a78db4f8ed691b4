import type { Kysely } from "kysely";
import { type AccessReader, AccessReads } from "./access.ts";
import { toStoreError } from "./errors.ts";
import { FunctionReads, type FunctionsReader } from "./functions.ts";
import {
  accountRecord,
  apiTokenRecord,
  associationRecord,
  auditRecord,
  boolColumn,
  boolValue,
  clientCertificateRecord,
  hostnameRecord,
  managedCaRecord,
  mtlsCertificateRecord,
  num,
  originPullRecord,
  zoneRecord,
} from "./rows.ts";
import {
  listRulesetSummaries,
  type Ruleset,
  type RulesetPhase,
  type RulesetSummary,
  readRuleset,
} from "./rulesets.ts";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secrets.ts";
import type {
  Account,
  ApiToken,
  AuditEntry,
  ClientCertificate,
  ClientCertificateStatus,
  Hostname,
  HostnameAssociation,
  Id,
  ManagedCa,
  MtlsCertificate,
  OriginPullCertificate,
  Page,
  SecretOwner,
  StoreReader,
  Zone,
} from "./types.ts";

const DEFAULT_LIMIT = 20;

/** Every read, over either a plain connection or a transaction; the same code serves both dialects. */
export class Reader implements StoreReader {
  protected readonly db: Kysely<Database>;
  protected readonly box: SecretBox;

  constructor(db: Kysely<Database>, box: SecretBox) {
    this.db = db;
    this.box = box;
  }

  /** Names driver failures (unreachable database…) as StoreErrors. */
  protected async read<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, { what });
    }
  }

  getAccount(id: Id): Promise<Account | undefined> {
    return this.read(`get account ${id}`, async () => {
      const row = await this.db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
      return row && accountRecord(row);
    });
  }

  listAccounts(): Promise<Account[]> {
    return this.read("list accounts", async () => {
      const rows = await this.db
        .selectFrom("accounts")
        .selectAll()
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(accountRecord);
    });
  }

  getZone(id: Id): Promise<Zone | undefined> {
    return this.read(`get zone ${id}`, async () => {
      const row = await this.db.selectFrom("zones").selectAll().where("id", "=", id).executeTakeFirst();
      return row && zoneRecord(row);
    });
  }

  listZones(filter: { accountId?: Id; name?: string } = {}): Promise<Zone[]> {
    return this.read("list zones", async () => {
      let query = this.db.selectFrom("zones").selectAll();
      if (filter.accountId !== undefined) query = query.where("account_id", "=", filter.accountId);
      if (filter.name !== undefined) query = query.where("name", "=", filter.name);
      const rows = await query.orderBy("name").execute();
      return rows.map(zoneRecord);
    });
  }

  getMtlsCertificate(id: Id): Promise<MtlsCertificate | undefined> {
    return this.read(`get mtls certificate ${id}`, async () => {
      const row = await this.db
        .selectFrom("mtls_certificates")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && mtlsCertificateRecord(row);
    });
  }

  listMtlsCertificates(filter: { accountId: Id; ca?: boolean; name?: string }): Promise<MtlsCertificate[]> {
    return this.read("list mtls certificates", async () => {
      let query = this.db
        .selectFrom("mtls_certificates")
        .selectAll()
        .where("account_id", "=", filter.accountId);
      if (filter.ca !== undefined) query = query.where("ca", "=", boolColumn(filter.ca));
      if (filter.name !== undefined) query = query.where("name", "=", filter.name);
      const rows = await query.orderBy("uploaded_on").orderBy("id").execute();
      return rows.map(mtlsCertificateRecord);
    });
  }

  getHostname(id: Id): Promise<Hostname | undefined> {
    return this.read(`get hostname ${id}`, async () => {
      const row = await this.db.selectFrom("hostnames").selectAll().where("id", "=", id).executeTakeFirst();
      return row && hostnameRecord(row);
    });
  }

  getHostnameByName(hostname: string): Promise<Hostname | undefined> {
    return this.read(`get hostname ${hostname}`, async () => {
      const row = await this.db
        .selectFrom("hostnames")
        .selectAll()
        .where("hostname", "=", hostname)
        .executeTakeFirst();
      return row && hostnameRecord(row);
    });
  }

  listHostnames(filter: { zoneId?: Id } = {}): Promise<Hostname[]> {
    return this.read("list hostnames", async () => {
      let query = this.db.selectFrom("hostnames").selectAll();
      if (filter.zoneId !== undefined) query = query.where("zone_id", "=", filter.zoneId);
      const rows = await query.orderBy("hostname").execute();
      return rows.map(hostnameRecord);
    });
  }

  /** `mtlsCertificateId: null` selects the managed CA's associations; undefined selects all. */
  listHostnameAssociations(
    filter: { zoneId?: Id; mtlsCertificateId?: Id | null } = {},
  ): Promise<HostnameAssociation[]> {
    return this.read("list hostname associations", async () => {
      let query = this.db.selectFrom("hostname_associations").selectAll();
      if (filter.zoneId !== undefined) query = query.where("zone_id", "=", filter.zoneId);
      if (filter.mtlsCertificateId === null) query = query.where("mtls_certificate_id", "is", null);
      else if (filter.mtlsCertificateId !== undefined) {
        query = query.where("mtls_certificate_id", "=", filter.mtlsCertificateId);
      }
      const rows = await query.orderBy("zone_id").orderBy("hostname").execute();
      return rows.map(associationRecord);
    });
  }

  getManagedCa(zoneId: Id): Promise<ManagedCa | undefined> {
    return this.read(`get managed CA of zone ${zoneId}`, async () => {
      const row = await this.db
        .selectFrom("managed_cas")
        .selectAll()
        .where("zone_id", "=", zoneId)
        .executeTakeFirst();
      return row && managedCaRecord(row);
    });
  }

  getClientCertificate(zoneId: Id, id: Id): Promise<ClientCertificate | undefined> {
    return this.read(`get client certificate ${id}`, async () => {
      const row = await this.db
        .selectFrom("client_certificates")
        .selectAll()
        .where("zone_id", "=", zoneId)
        .where("id", "=", id)
        .executeTakeFirst();
      return row && clientCertificateRecord(row);
    });
  }

  /** Newest first; `total` counts every match, not just the page. */
  listClientCertificates(filter: {
    zoneId?: Id;
    status?: ClientCertificateStatus;
    limit?: number;
    offset?: number;
  }): Promise<Page<ClientCertificate>> {
    return this.read("list client certificates", async () => {
      let query = this.db.selectFrom("client_certificates");
      if (filter.zoneId !== undefined) query = query.where("zone_id", "=", filter.zoneId);
      if (filter.status !== undefined) query = query.where("status", "=", filter.status);
      const rows = await query
        .selectAll()
        .orderBy("issued_on", "desc")
        .orderBy("id")
        .limit(filter.limit ?? DEFAULT_LIMIT)
        .offset(filter.offset ?? 0)
        .execute();
      const { total } = await query.select((eb) => eb.fn.countAll().as("total")).executeTakeFirstOrThrow();
      return { items: rows.map(clientCertificateRecord), total: num(total as number | string) };
    });
  }

  listOriginPullCertificates(filter: { zoneId?: Id } = {}): Promise<OriginPullCertificate[]> {
    return this.read("list origin pull certificates", async () => {
      let query = this.db.selectFrom("origin_pull_certificates").selectAll();
      if (filter.zoneId !== undefined) query = query.where("zone_id", "=", filter.zoneId);
      const rows = await query.orderBy("created_at").orderBy("id").execute();
      return rows.map(originPullRecord);
    });
  }

  /** False until set: origin pull is opt-in per zone. */
  getOriginPullEnabled(zoneId: Id): Promise<boolean> {
    return this.read(`get origin pull setting of zone ${zoneId}`, async () => {
      const row = await this.db
        .selectFrom("origin_pull_settings")
        .select("enabled")
        .where("zone_id", "=", zoneId)
        .executeTakeFirst();
      return row !== undefined && boolValue(row.enabled);
    });
  }

  getApiTokenByHash(hash: string): Promise<ApiToken | undefined> {
    return this.read("get api token by hash", async () => {
      const row = await this.db
        .selectFrom("api_tokens")
        .selectAll()
        .where("secret_hash", "=", hash)
        .executeTakeFirst();
      return row && apiTokenRecord(row);
    });
  }

  getApiToken(id: Id): Promise<ApiToken | undefined> {
    return this.read(`get api token ${id}`, async () => {
      const row = await this.db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
      return row && apiTokenRecord(row);
    });
  }

  listApiTokens(): Promise<ApiToken[]> {
    return this.read("list api tokens", async () => {
      const rows = await this.db
        .selectFrom("api_tokens")
        .selectAll()
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(apiTokenRecord);
    });
  }

  /** Newest first: by the version that wrote the entry, then its order inside that transaction. */
  listAudit(
    filter: { action?: string; resource?: string; limit?: number; offset?: number } = {},
  ): Promise<Page<AuditEntry>> {
    return this.read("list audit", async () => {
      let query = this.db.selectFrom("audit");
      if (filter.action !== undefined) query = query.where("action", "=", filter.action);
      if (filter.resource !== undefined) query = query.where("resource", "=", filter.resource);
      const rows = await query
        .selectAll()
        .orderBy("version", "desc")
        .orderBy("seq", "desc")
        .limit(filter.limit ?? DEFAULT_LIMIT)
        .offset(filter.offset ?? 0)
        .execute();
      const { total } = await query.select((eb) => eb.fn.countAll().as("total")).executeTakeFirstOrThrow();
      return { items: rows.map(auditRecord), total: num(total as number | string) };
    });
  }

  secretKeyPem(owner: SecretOwner): Promise<string | undefined> {
    return this.read(`get secret of ${owner.kind} ${owner.id}`, async () => {
      const row = await this.db
        .selectFrom("secrets")
        .select(["iv", "ciphertext", "tag"])
        .where("owner_kind", "=", owner.kind)
        .where("owner_id", "=", owner.id)
        .executeTakeFirst();
      return row && this.box.open(owner, row);
    });
  }

  version(): Promise<number> {
    return this.read("get version", async () => {
      const row = await this.db
        .selectFrom("state")
        .select("version")
        .where("id", "=", 1)
        .executeTakeFirstOrThrow();
      return num(row.version);
    });
  }

  getRuleset(zoneId: Id, phase: RulesetPhase): Promise<Ruleset | undefined> {
    return this.read(`get ruleset ${phase} of zone ${zoneId}`, () => readRuleset(this.db, zoneId, phase));
  }

  listRulesets(zoneId: Id): Promise<RulesetSummary[]> {
    return this.read(`list rulesets of zone ${zoneId}`, () => listRulesetSummaries(this.db, zoneId));
  }

  /** Access's reads (access.ts), over the same connection or transaction. */
  get access(): AccessReader {
    return new AccessReads(this.db, this.box);
  }

  /** Edge functions' reads (functions.ts). */
  get functions(): FunctionsReader {
    return new FunctionReads(this.db);
  }
}
