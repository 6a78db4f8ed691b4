import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { missingPostgres, POSTGRES_URL, temporarySchema } from "../helpers/postgres.ts";
import { tempDir } from "../helpers/run.ts";

/** Every store test runs once per adapter, against the real database. */
export const KINDS = ["sqlite", "postgres"] as const;
export type StoreKind = (typeof KINDS)[number];

const postgresMissing = await missingPostgres();
if (postgresMissing) console.log(`# skipping the PostgreSQL store tests: ${postgresMissing}`);

/** For `describe(…, { skip: skipFor(kind) })`. */
export function skipFor(kind: StoreKind): string | false {
  return kind === "postgres" ? postgresMissing : false;
}

export interface TestDatabase {
  kind: StoreKind;
  dataDir: string;
  secretKey: Buffer;
  /** Opens a Store on this database (another one each call: another "process"); closed by cleanup. */
  open(options?: { secretKey?: Buffer; dataDir?: string; withoutKey?: boolean }): Promise<Store>;
  /** Runs raw SQL against the database, outside any Store, to look at what is really stored. */
  raw(text: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

/** A fresh empty database (SQLite file in a temp dir, or a PostgreSQL schema of its own). */
export async function testDatabase(kind: StoreKind): Promise<TestDatabase> {
  const dir = await tempDir("portcullis-store-");
  const secretKey = randomBytes(32);
  const schema = kind === "postgres" ? await temporarySchema() : undefined;
  const opened: Store[] = [];
  return {
    kind,
    dataDir: dir.path,
    secretKey,
    async open(options = {}) {
      const store = await openStore({
        dataDir: options.dataDir ?? dir.path,
        ...(options.withoutKey ? {} : { secretKey: options.secretKey ?? secretKey }),
        ...(schema ? { databaseUrl: POSTGRES_URL, schema: schema.schema } : {}),
      });
      opened.push(store);
      return store;
    },
    async raw(text) {
      if (schema === undefined) {
        const db = new DatabaseSync(join(dir.path, "portcullis.db"));
        try {
          const statement = db.prepare(text);
          if (statement.columns().length === 0) {
            statement.run();
            return [];
          }
          return statement.all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      }
      const client = new pg.Client({
        connectionString: POSTGRES_URL,
        options: `-c search_path=${schema.schema}`,
      });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      await Promise.all(opened.map((store) => store.close()));
      await schema?.drop();
      await dir.cleanup();
    },
  };
}
