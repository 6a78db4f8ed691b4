import { mkdir } from "node:fs/promises";
import { openPostgresStore } from "./postgres.ts";
import { loadSecretKey, secretBox } from "./secrets.ts";
import { openSqliteStore } from "./sqlite.ts";
import { type Store, StoreError } from "./types.ts";

export * from "./types.ts";

export interface OpenStoreOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; anything else (or nothing) SQLite in dataDir. */
  databaseUrl?: string;
  /** Holds `portcullis.db` (SQLite) and `secret.key` (when no key is given otherwise). */
  dataDir: string;
  /** 32 bytes; else env PORTCULLIS_SECRET_KEY; else `<dataDir>/secret.key`. */
  secretKey?: Buffer;
  /** PostgreSQL schema for the tables (default `public`); tests use one of their own. */
  schema?: string;
}

/** Opens (and migrates) the store: a StoreError `unavailable` when the database cannot be used. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  try {
    await mkdir(options.dataDir, { recursive: true });
  } catch (error) {
    throw new StoreError(
      "unavailable",
      `cannot create the data directory ${options.dataDir}: ${(error as Error).message}`,
    );
  }
  const box = secretBox(await loadSecretKey(options));
  const url = options.databaseUrl;
  if (url !== undefined && /^postgres(ql)?:\/\//i.test(url)) {
    return openPostgresStore(
      { url, ...(options.schema === undefined ? {} : { schema: options.schema }) },
      box,
    );
  }
  return openSqliteStore(options.dataDir, box);
}
