import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { type AccessWriter, AccessWrites } from "./access.ts";
import { type ErrorNames, toStoreError } from "./errors.ts";
import { type FunctionsWriter, FunctionWrites } from "./functions.ts";
import { Mutex } from "./mutex.ts";
import { Reader } from "./reader.ts";
import {
  accountRow,
  apiTokenRow,
  boolColumn,
  clientCertificateRow,
  hostnameRow,
  json,
  managedCaRow,
  mtlsCertificateRow,
  num,
  originPullRow,
  zoneRow,
} from "./rows.ts";
import { type Ruleset, writeRuleset } from "./rulesets.ts";
import type { Account } from "./types.ts";
import {
  type ApiToken,
  type AuditEntry,
  type ClientCertificate,
  type ClientCertificateStatus,
  type Hostname,
  type Id,
  type ManagedCa,
  type MtlsCertificate,
  type OriginPullCertificate,
  type SecretOwner,
  StoreError,
  type StoreWriter,
  type Timestamp,
  type Zone,
} from "./types.ts";

/**
 * The writes of one transaction. The first write bumps `state.version` (on PostgreSQL that row lock is
 * also where concurrent writers meet, so conflicts surface early). Each write runs under a savepoint, so a
 * failed write — caught or not — leaves nothing behind and the transaction usable on both dialects.
 */
export class Writer extends Reader implements StoreWriter {
  /** The version this transaction commits as; undefined while it has written nothing. */
  writtenVersion: number | undefined;
  #auditSeq = 0;
  readonly #lock = new Mutex();

  private write(names: ErrorNames, operation: () => Promise<void>): Promise<void> {
    return this.#lock.run(async () => {
      if (this.writtenVersion === undefined) this.writtenVersion = await this.bumpVersion(names);
      await sql`savepoint portcullis_write`.execute(this.db);
      try {
        await operation();
      } catch (error) {
        await sql`rollback to savepoint portcullis_write`.execute(this.db);
        await sql`release savepoint portcullis_write`.execute(this.db);
        throw toStoreError(error, names);
      }
      await sql`release savepoint portcullis_write`.execute(this.db);
    });
  }

  private async bumpVersion(names: ErrorNames): Promise<number> {
    try {
      const row = await this.db
        .updateTable("state")
        .set((eb) => ({ version: eb("version", "+", 1) }))
        .where("id", "=", 1)
        .returning("version")
        .executeTakeFirstOrThrow();
      return num(row.version);
    } catch (error) {
      throw toStoreError(error, names);
    }
  }

  private async putSecret(owner: SecretOwner, privateKeyPem: string): Promise<void> {
    const sealed = this.box.seal(owner, privateKeyPem);
    await this.db
      .insertInto("secrets")
      .values({ owner_kind: owner.kind, owner_id: owner.id, ...sealed })
      .execute();
  }

  private async deleteSecret(owner: SecretOwner): Promise<void> {
    await this.db
      .deleteFrom("secrets")
      .where("owner_kind", "=", owner.kind)
      .where("owner_id", "=", owner.id)
      .execute();
  }

  insertAccount(account: Account): Promise<void> {
    return this.write(
      { what: `insert account ${account.id}`, unique: `account ${account.id} already exists` },
      async () => {
        await this.db.insertInto("accounts").values(accountRow(account)).execute();
      },
    );
  }

  insertZone(zone: Zone): Promise<void> {
    return this.write(
      {
        what: `insert zone ${zone.name}`,
        unique: `zone ${zone.name} (or id ${zone.id}) already exists`,
        reference: ["invalid", `zone ${zone.name}: account ${zone.accountId} does not exist`],
      },
      async () => {
        await this.db.insertInto("zones").values(zoneRow(zone)).execute();
      },
    );
  }

  /** Refused while hostnames use the zone; its managed CA, client certificates and settings go with it. */
  deleteZone(id: Id): Promise<void> {
    return this.write(
      { what: `delete zone ${id}`, reference: ["in_use", `zone ${id} is in use`] },
      async () => {
        const zone = await this.getZone(id);
        if (zone === undefined) throw new StoreError("not_found", `zone ${id} does not exist`);
        const hostnames = await this.db
          .selectFrom("hostnames")
          .select("hostname")
          .where("zone_id", "=", id)
          .orderBy("hostname")
          .execute();
        if (hostnames.length > 0) {
          throw new StoreError(
            "in_use",
            `zone ${zone.name} is used by hostnames ${names(hostnames.map((h) => h.hostname))}`,
          );
        }
        await this.db
          .deleteFrom("secrets")
          .where((eb) =>
            eb.or([
              eb.and([
                eb("owner_kind", "=", "managed_ca"),
                eb("owner_id", "in", eb.selectFrom("managed_cas").select("id").where("zone_id", "=", id)),
              ]),
              eb.and([
                eb("owner_kind", "=", "origin_pull"),
                eb(
                  "owner_id",
                  "in",
                  eb.selectFrom("origin_pull_certificates").select("id").where("zone_id", "=", id),
                ),
              ]),
            ]),
          )
          .execute();
        await this.db.deleteFrom("zones").where("id", "=", id).execute();
      },
    );
  }

  insertMtlsCertificate(certificate: MtlsCertificate, privateKeyPem?: string): Promise<void> {
    const { id } = certificate;
    return this.write(
      {
        what: `insert mtls certificate ${id}`,
        unique: `mtls certificate ${id} already exists`,
        reference: ["invalid", `mtls certificate ${id}: account ${certificate.accountId} does not exist`],
      },
      async () => {
        if (certificate.hasPrivateKey !== (privateKeyPem !== undefined)) {
          throw new StoreError(
            "invalid",
            `mtls certificate ${id}: hasPrivateKey is ${certificate.hasPrivateKey} but a private key was${privateKeyPem === undefined ? " not" : ""} given`,
          );
        }
        await this.db.insertInto("mtls_certificates").values(mtlsCertificateRow(certificate)).execute();
        if (privateKeyPem !== undefined)
          await this.putSecret({ kind: "mtls_certificate", id }, privateKeyPem);
      },
    );
  }

  /** Refused while a hostname serves it, trusts it for its origin, or an association names it. */
  deleteMtlsCertificate(id: Id): Promise<void> {
    return this.write(
      { what: `delete mtls certificate ${id}`, reference: ["in_use", `mtls certificate ${id} is in use`] },
      async () => {
        if ((await this.getMtlsCertificate(id)) === undefined) {
          throw new StoreError("not_found", `mtls certificate ${id} does not exist`);
        }
        const serving = await this.db
          .selectFrom("hostnames")
          .select("hostname")
          .where((eb) =>
            eb.or([eb("server_certificate_id", "=", id), eb("origin_ca_certificate_id", "=", id)]),
          )
          .execute();
        const associated = await this.db
          .selectFrom("hostname_associations")
          .select("hostname")
          .where("mtls_certificate_id", "=", id)
          .execute();
        const users = [
          ...serving.map((h) => `hostname ${h.hostname}`),
          ...associated.map((a) => `the association of ${a.hostname}`),
        ];
        if (users.length > 0)
          throw new StoreError("in_use", `mtls certificate ${id} is used by ${names(users)}`);
        await this.deleteSecret({ kind: "mtls_certificate", id });
        await this.db.deleteFrom("mtls_certificates").where("id", "=", id).execute();
      },
    );
  }

  putHostname(hostname: Hostname): Promise<void> {
    const row = hostnameRow(hostname);
    const { id: _id, ...change } = row;
    return this.write(
      {
        what: `put hostname ${hostname.hostname}`,
        unique: `hostname ${hostname.hostname} already exists`,
        reference: [
          "invalid",
          `hostname ${hostname.hostname} refers to a zone or mtls certificate that does not exist`,
        ],
      },
      async () => {
        await this.db
          .insertInto("hostnames")
          .values(row)
          .onConflict((oc) => oc.column("id").doUpdateSet(change))
          .execute();
      },
    );
  }

  deleteHostname(id: Id): Promise<void> {
    return this.write({ what: `delete hostname ${id}` }, async () => {
      const result = await this.db.deleteFrom("hostnames").where("id", "=", id).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw new StoreError("not_found", `hostname ${id} does not exist`);
    });
  }

  replaceHostnameAssociations(
    zoneId: Id,
    mtlsCertificateId: Id | null,
    hostnames: readonly string[],
  ): Promise<void> {
    const ca = mtlsCertificateId === null ? "the managed CA" : `mtls certificate ${mtlsCertificateId}`;
    return this.write(
      {
        what: `replace hostname associations of ${ca} in zone ${zoneId}`,
        unique: `a hostname among ${names(hostnames)} is already associated with another CA in zone ${zoneId}`,
        reference: ["invalid", `zone ${zoneId} or ${ca} does not exist`],
      },
      async () => {
        await this.db
          .deleteFrom("hostname_associations")
          .where("zone_id", "=", zoneId)
          .where("mtls_certificate_id", mtlsCertificateId === null ? "is" : "=", mtlsCertificateId)
          .execute();
        const unique = [...new Set(hostnames)];
        if (unique.length === 0) return;
        await this.db
          .insertInto("hostname_associations")
          .values(
            unique.map((hostname) => ({ zone_id: zoneId, mtls_certificate_id: mtlsCertificateId, hostname })),
          )
          .execute();
      },
    );
  }

  insertManagedCa(ca: ManagedCa, privateKeyPem: string): Promise<void> {
    return this.write(
      {
        what: `insert managed CA ${ca.id}`,
        unique: `zone ${ca.zoneId} already has a managed CA (or id ${ca.id} is taken)`,
        reference: ["invalid", `managed CA ${ca.id}: zone ${ca.zoneId} does not exist`],
      },
      async () => {
        await this.db.insertInto("managed_cas").values(managedCaRow(ca)).execute();
        await this.putSecret({ kind: "managed_ca", id: ca.id }, privateKeyPem);
      },
    );
  }

  insertClientCertificate(certificate: ClientCertificate): Promise<void> {
    const { id } = certificate;
    return this.write(
      {
        what: `insert client certificate ${id}`,
        unique: `client certificate ${id} already exists`,
        reference: [
          "invalid",
          `client certificate ${id}: zone ${certificate.zoneId} or CA ${certificate.caId} does not exist`,
        ],
      },
      async () => {
        await this.db.insertInto("client_certificates").values(clientCertificateRow(certificate)).execute();
      },
    );
  }

  updateClientCertificateStatus(
    id: Id,
    status: ClientCertificateStatus,
    revokedOn: Timestamp | null,
  ): Promise<void> {
    return this.write({ what: `update client certificate ${id}` }, async () => {
      const result = await this.db
        .updateTable("client_certificates")
        .set({ status, revoked_on: revokedOn })
        .where("id", "=", id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n)
        throw new StoreError("not_found", `client certificate ${id} does not exist`);
    });
  }

  insertOriginPullCertificate(certificate: OriginPullCertificate, privateKeyPem: string): Promise<void> {
    const { id } = certificate;
    return this.write(
      {
        what: `insert origin pull certificate ${id}`,
        unique: `origin pull certificate ${id} already exists`,
        reference: ["invalid", `origin pull certificate ${id}: zone ${certificate.zoneId} does not exist`],
      },
      async () => {
        await this.db.insertInto("origin_pull_certificates").values(originPullRow(certificate)).execute();
        await this.putSecret({ kind: "origin_pull", id }, privateKeyPem);
      },
    );
  }

  deleteOriginPullCertificate(id: Id): Promise<void> {
    return this.write({ what: `delete origin pull certificate ${id}` }, async () => {
      const result = await this.db
        .deleteFrom("origin_pull_certificates")
        .where("id", "=", id)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n)
        throw new StoreError("not_found", `origin pull certificate ${id} does not exist`);
      await this.deleteSecret({ kind: "origin_pull", id });
    });
  }

  setOriginPullEnabled(zoneId: Id, enabled: boolean): Promise<void> {
    return this.write(
      {
        what: `set origin pull of zone ${zoneId}`,
        reference: ["invalid", `zone ${zoneId} does not exist`],
      },
      async () => {
        const value = boolColumn(enabled);
        await this.db
          .insertInto("origin_pull_settings")
          .values({ zone_id: zoneId, enabled: value })
          .onConflict((oc) => oc.column("zone_id").doUpdateSet({ enabled: value }))
          .execute();
      },
    );
  }

  insertApiToken(token: ApiToken, secretHash: string): Promise<void> {
    return this.write(
      {
        what: `insert api token ${token.id}`,
        unique: `api token ${token.id} (or its secret) already exists`,
      },
      async () => {
        await this.db.insertInto("api_tokens").values(apiTokenRow(token, secretHash)).execute();
      },
    );
  }

  updateApiToken(id: Id, change: { status?: ApiToken["status"]; lastUsedAt?: Timestamp }): Promise<void> {
    return this.write({ what: `update api token ${id}` }, async () => {
      const set: { status?: string; last_used_at?: string } = {};
      if (change.status !== undefined) set.status = change.status;
      if (change.lastUsedAt !== undefined) set.last_used_at = change.lastUsedAt;
      const found =
        Object.keys(set).length === 0
          ? (await this.getApiToken(id)) !== undefined
          : (await this.db.updateTable("api_tokens").set(set).where("id", "=", id).executeTakeFirst())
              .numUpdatedRows > 0n;
      if (!found) throw new StoreError("not_found", `api token ${id} does not exist`);
    });
  }

  audit(entry: Omit<AuditEntry, "id" | "at">): Promise<void> {
    return this.write({ what: `audit ${entry.action}` }, async () => {
      this.#auditSeq += 1;
      await this.db
        .insertInto("audit")
        .values({
          id: randomBytes(16).toString("hex"),
          at: now(),
          version: this.writtenVersion ?? 0,
          seq: this.#auditSeq,
          token_id: entry.tokenId,
          action: entry.action,
          resource: entry.resource,
          before: json(entry.before),
          after: json(entry.after),
        })
        .execute();
    });
  }

  putRuleset(ruleset: Ruleset): Promise<void> {
    return this.write(
      {
        what: `put ruleset ${ruleset.id}`,
        unique: `zone ${ruleset.zoneId} already has a ${ruleset.phase} ruleset (or a rule id is repeated)`,
        reference: ["invalid", `ruleset ${ruleset.id}: zone ${ruleset.zoneId} does not exist`],
      },
      () => writeRuleset(this.db, ruleset),
    );
  }

  /** Access's writes (access.ts), each through this transaction's `write`. */
  override get access(): AccessWriter {
    return new AccessWrites(this.db, this.box, (names, operation) => this.write(names, operation));
  }

  /** Edge functions' writes (functions.ts), each through this transaction's `write`. */
  override get functions(): FunctionsWriter {
    return new FunctionWrites(this.db, (names, operation) => this.write(names, operation));
  }
}

/** ISO 8601 UTC with seconds, the contract's Timestamp. */
export function now(): Timestamp {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A short list for an error message: the first few names, then how many more. */
function names(list: readonly string[]): string {
  const shown = list.slice(0, 3).join(", ");
  return list.length > 3 ? `${shown} and ${list.length - 3} more` : shown;
}
