import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Kysely, SqliteDialect } from "kysely";
import { toStoreError } from "./errors.ts";
import { migrate } from "./migrations.ts";
import { Mutex } from "./mutex.ts";
import { Reader } from "./reader.ts";
import type { Database } from "./schema.ts";
import type { SecretBox } from "./secrets.ts";
import { kyselyDatabase } from "./sqlite-database.ts";
import { type Store, StoreError, type StoreWriter } from "./types.ts";
import { Watchers } from "./watchers.ts";
import { Writer } from "./writer.ts";

export const SQLITE_FILE = "portcullis.db";
const BUSY_TIMEOUT_MS = 5000;

/**
 * What Stores on the same file in one process share: the write mutex (DatabaseSync blocks the event loop
 * while it waits for a lock, so two writers in one process must queue in JS, never in SQLite) and their
 * watchers (so they hear each other).
 */
interface SharedFile {
  mutex: Mutex;
  watchers: Set<Watchers>;
}
const sharedFiles = new Map<string, SharedFile>();

function sharedFile(path: string): SharedFile {
  let shared = sharedFiles.get(path);
  if (shared === undefined) {
    shared = { mutex: new Mutex(), watchers: new Set() };
    sharedFiles.set(path, shared);
  }
  return shared;
}

/**
 * The embedded store: one file in the data directory, two connections — one that writes, owned by one
 * transaction at a time (a promise mutex queues the others), and one that only reads committed data (WAL)
 * so reads outside a transaction never see a transaction's uncommitted writes.
 *
 * Watchers hear of writes made in this process only: several processes may share the file safely
 * (BEGIN IMMEDIATE + busy_timeout), but they do not hear each other's changes. Use PostgreSQL for that.
 */
export async function openSqliteStore(dataDir: string, box: SecretBox): Promise<Store> {
  const path = resolve(dataDir, SQLITE_FILE);
  let writer: DatabaseSync | undefined;
  let reader: DatabaseSync | undefined;
  try {
    await mkdir(dataDir, { recursive: true });
    writer = connect(path);
    writer.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    const writeDb = new Kysely<Database>({
      dialect: new SqliteDialect({ database: kyselyDatabase(writer) }),
    });
    const shared = sharedFile(path);
    await shared.mutex.run(() => migrate(writeDb as Kysely<unknown>));
    reader = connect(path);
    reader.exec("PRAGMA query_only = ON;");
    const readDb = new Kysely<Database>({ dialect: new SqliteDialect({ database: kyselyDatabase(reader) }) });
    const store = new SqliteStore({ writer, writeDb, readDb, box, shared });
    await store.start();
    return store;
  } catch (error) {
    writer?.close();
    reader?.close();
    throw toStoreError(error, { what: `open ${path}` });
  }
}

function connect(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON;`);
  return db;
}

class SqliteStore extends Reader implements Store {
  readonly kind = "sqlite";
  readonly #writer: DatabaseSync;
  readonly #writeDb: Kysely<Database>;
  readonly #shared: SharedFile;
  #watchers = new Watchers(0);
  #closed = false;

  constructor(parts: {
    writer: DatabaseSync;
    writeDb: Kysely<Database>;
    readDb: Kysely<Database>;
    box: SecretBox;
    shared: SharedFile;
  }) {
    super(parts.readDb, parts.box);
    this.#writer = parts.writer;
    this.#writeDb = parts.writeDb;
    this.#shared = parts.shared;
  }

  async start(): Promise<void> {
    this.#watchers = new Watchers(await this.version());
    this.#shared.watchers.add(this.#watchers);
  }

  transaction<T>(fn: (tx: StoreWriter) => Promise<T>): Promise<T> {
    return this.#shared.mutex.run(async () => {
      if (this.#closed) throw new StoreError("unavailable", "the store is closed");
      try {
        // IMMEDIATE takes the write lock now: another process's writer waits (busy_timeout) instead of
        // failing later when this one upgrades from reading to writing.
        this.#writer.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw toStoreError(error, { what: "begin a transaction" });
      }
      const tx = new Writer(this.#writeDb, this.box);
      let result: T;
      try {
        result = await fn(tx);
        this.#writer.exec("COMMIT");
      } catch (error) {
        if (this.#writer.isTransaction) this.#writer.exec("ROLLBACK");
        throw toStoreError(error, { what: "transaction" });
      }
      const version = tx.writtenVersion;
      if (version !== undefined) {
        const offer = () => {
          for (const watchers of this.#shared.watchers) watchers.offer(version);
        };
        this.#shared.mutex.outside(offer);
      }
      return result;
    });
  }

  watch(listener: (version: number) => void): () => void {
    return this.#watchers.add(listener);
  }

  /** Waits for the running transactions, then closes both connections. */
  close(): Promise<void> {
    return this.#shared.mutex.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#shared.watchers.delete(this.#watchers);
      await this.#writeDb.destroy();
      await this.db.destroy();
    });
  }
}
