import { setTimeout as sleep } from "node:timers/promises";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { isRetryable, toStoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { Mutex } from "./mutex.ts";
import { ChangeFeed } from "./postgres-feed.ts";
import { Reader } from "./reader.ts";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secrets.ts";
import { type Store, StoreError, type StoreWriter } from "./types.ts";
import { Watchers } from "./watchers.ts";
import { Writer } from "./writer.ts";

export const CHANGES_CHANNEL = "portcullis_changes";
/** Serialization failures only happen between processes (one process queues its own transactions). */
const MAX_ATTEMPTS = 20;
const MAX_BACKOFF_MS = 250;

export interface PostgresOptions {
  url: string;
  /** The schema every table lives in (via search_path); `public` unless set. */
  schema?: string;
}

/** The connection settings of the pool and the LISTEN client; the application name tells them apart. */
export function clientConfig(options: PostgresOptions, role: "pool" | "listen"): pg.ClientConfig {
  const schema = options.schema ?? "public";
  return {
    connectionString: options.url,
    options: `-c search_path=${quoteIdentifier(schema)}`,
    application_name: `portcullis-${role} ${schema}`.slice(0, 63),
    connectionTimeoutMillis: 5000,
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Where we connect, for messages: never the password. */
export function describeUrl(url: string): string {
  try {
    const { hostname, port, pathname } = new URL(url);
    return `PostgreSQL at ${hostname}:${port || "5432"}${pathname}`;
  } catch {
    return "PostgreSQL (unparsable URL)";
  }
}

export async function openPostgresStore(options: PostgresOptions, box: SecretBox): Promise<Store> {
  const pool = new pg.Pool({ ...clientConfig(options, "pool"), max: 10 });
  // An idle client that loses its server emits here; the next query reports it (as unavailable).
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
    await migrate(db as Kysely<unknown>);
    const store = new PostgresStore(db, box, options);
    await store.start();
    return store;
  } catch (error) {
    await db.destroy().catch(() => {});
    throw toStoreError(error, { what: `open ${describeUrl(options.url)}` });
  }
}

/**
 * The shared store. Transactions are SERIALIZABLE and retried on serialization failures (the function may
 * run more than once, so it must not have effects outside the transaction). In one process they also queue
 * on a mutex: in-process writers never conflict, and a transaction never waits for a pool connection held
 * by another one waiting on it.
 */
class PostgresStore extends Reader implements Store {
  readonly kind = "postgres";
  readonly #mutex = new Mutex();
  readonly #options: PostgresOptions;
  #watchers = new Watchers(0);
  #feed: ChangeFeed | undefined;
  #closed = false;

  constructor(db: Kysely<Database>, box: SecretBox, options: PostgresOptions) {
    super(db, box);
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#watchers = new Watchers(await this.version());
  }

  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    return this.#mutex.run(async () => {
      if (this.#closed) throw new StoreError("unavailable", "the store is closed");
      for (let attempt = 1; ; attempt++) {
        let written: number | undefined;
        try {
          const result = await this.db
            .transaction()
            .setIsolationLevel("serializable")
            .execute(async (trx) => {
              const tx = new Writer(trx, this.box);
              const value = await fn(tx);
              written = tx.writtenVersion;
              // Delivered to listeners at commit, never if it rolls back.
              if (written !== undefined) {
                await sql`select pg_notify(${CHANGES_CHANNEL}, ${String(written)})`.execute(trx);
              }
              return value;
            });
          if (written !== undefined) {
            const version = written;
            this.#mutex.outside(() => this.#watchers.offer(version));
          }
          return result;
        } catch (error) {
          if (!isRetryable(error)) throw toStoreError(error, { what: "transaction" });
          if (attempt >= MAX_ATTEMPTS) {
            throw new StoreError("unavailable", `transaction still conflicting after ${attempt} attempts`);
          }
          // Jittered exponential backoff, so two processes that collided do not collide again.
          await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 5 * 2 ** attempt));
        }
      }
    });
  }

  watch(listener: (version: number) => void): () => void {
    const unwatch = this.#watchers.add(listener);
    if (this.#feed === undefined && !this.#closed) {
      this.#feed = new ChangeFeed({
        client: () => new pg.Client(clientConfig(this.#options, "listen")),
        channel: CHANGES_CHANNEL,
        version: () => this.version(),
        offer: (version) => this.#watchers.offer(version),
      });
    }
    return unwatch;
  }

  /** Waits for the running transactions, stops the feed and ends the pool. */
  close(): Promise<void> {
    return this.#mutex.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#feed?.stop();
      await this.db.destroy();
    });
  }
}
