import type { Kysely } from "kysely";
import { type Migration, type MigrationProvider, Migrator } from "kysely/migration";
import { createAccessTables } from "./access.ts";
import { createFunctionTables } from "./functions.ts";
import { createRulesetTables } from "./rulesets.ts";
import { StoreError } from "./types.ts";

/**
 * Migrations are code, listed here in order (no directory scan, so they ship inside the program). Each one
 * must run on both dialects: only text, integer and bigint columns, and constraints both enforce.
 */
const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("state")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("version", "bigint", (c) => c.notNull())
        .execute();
      await db
        .insertInto("state" as never)
        .values({ id: 1, version: 0 } as never)
        .execute();

      await db.schema
        .createTable("accounts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("zones")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id"))
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("mtls_certificates")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id"))
        .addColumn("name", "text")
        .addColumn("ca", "integer", (c) => c.notNull())
        .addColumn("certificates", "text", (c) => c.notNull())
        .addColumn("has_private_key", "integer", (c) => c.notNull())
        .addColumn("issuer", "text", (c) => c.notNull())
        .addColumn("serial_number", "text", (c) => c.notNull())
        .addColumn("signature", "text", (c) => c.notNull())
        .addColumn("expires_on", "text", (c) => c.notNull())
        .addColumn("uploaded_on", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();

      // Hostnames keep their zone (no cascade): deleting a zone that still serves names is refused.
      await db.schema
        .createTable("hostnames")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id"))
        .addColumn("hostname", "text", (c) => c.notNull().unique())
        .addColumn("is_default", "integer", (c) => c.notNull())
        .addColumn("server_certificate_id", "text", (c) => c.references("mtls_certificates.id"))
        .addColumn("mtls", "text", (c) => c.notNull())
        .addColumn("origin", "text", (c) => c.notNull())
        .addColumn("origin_ca_certificate_id", "text", (c) => c.references("mtls_certificates.id"))
        .addColumn("forward", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("hostnames_zone").on("hostnames").column("zone_id").execute();

      // One CA per (zone, hostname); a certificate in use cannot be deleted.
      await db.schema
        .createTable("hostname_associations")
        .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id").onDelete("cascade"))
        .addColumn("mtls_certificate_id", "text", (c) => c.references("mtls_certificates.id"))
        .addColumn("hostname", "text", (c) => c.notNull())
        .addUniqueConstraint("hostname_associations_zone_hostname", ["zone_id", "hostname"])
        .execute();

      await db.schema
        .createTable("managed_cas")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("zone_id", "text", (c) => c.notNull().unique().references("zones.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("certificate_pem", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("client_certificates")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id").onDelete("cascade"))
        .addColumn("ca_id", "text", (c) => c.notNull().references("managed_cas.id").onDelete("cascade"))
        .addColumn("certificate_pem", "text", (c) => c.notNull())
        .addColumn("csr", "text", (c) => c.notNull())
        .addColumn("common_name", "text", (c) => c.notNull())
        .addColumn("country", "text", (c) => c.notNull())
        .addColumn("location", "text", (c) => c.notNull())
        .addColumn("organization", "text", (c) => c.notNull())
        .addColumn("organizational_unit", "text", (c) => c.notNull())
        .addColumn("serial_number", "text", (c) => c.notNull())
        .addColumn("fingerprint_sha256", "text", (c) => c.notNull())
        .addColumn("ski", "text", (c) => c.notNull())
        .addColumn("signature", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("validity_days", "integer", (c) => c.notNull())
        .addColumn("issued_on", "text", (c) => c.notNull())
        .addColumn("expires_on", "text", (c) => c.notNull())
        .addColumn("revoked_on", "text")
        .execute();
      await db.schema
        .createIndex("client_certificates_zone")
        .on("client_certificates")
        .columns(["zone_id", "issued_on"])
        .execute();

      await db.schema
        .createTable("origin_pull_certificates")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id").onDelete("cascade"))
        .addColumn("hostname", "text")
        .addColumn("certificate_pem", "text", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("origin_pull_settings")
        .addColumn("zone_id", "text", (c) => c.primaryKey().references("zones.id").onDelete("cascade"))
        .addColumn("enabled", "integer", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("scopes", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("secret_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_used_at", "text")
        .execute();

      // No foreign key to api_tokens: the trail outlives what it mentions.
      await db.schema
        .createTable("audit")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("at", "text", (c) => c.notNull())
        .addColumn("version", "bigint", (c) => c.notNull())
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("token_id", "text")
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("resource", "text", (c) => c.notNull())
        .addColumn("before", "text")
        .addColumn("after", "text")
        .addUniqueConstraint("audit_order", ["version", "seq"])
        .execute();

      // Owners live in three tables, so no foreign key: the writers delete a secret with its owner.
      await db.schema
        .createTable("secrets")
        .addColumn("owner_kind", "text", (c) => c.notNull())
        .addColumn("owner_id", "text", (c) => c.notNull())
        .addColumn("iv", "text", (c) => c.notNull())
        .addColumn("ciphertext", "text", (c) => c.notNull())
        .addColumn("tag", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("secrets_pk", ["owner_kind", "owner_id"])
        .execute();
    },
  },
  "0002_rulesets": { up: createRulesetTables },
  "0003_access": { up: createAccessTables },
  "0004_functions": { up: createFunctionTables },
};

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** Brings the schema to the latest migration; safe to run from every process on every start. */
export async function migrate(db: Kysely<unknown>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === "Error")?.migrationName ?? "?";
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError("unavailable", `cannot migrate the store (migration ${failed}): ${reason}`);
  }
}
