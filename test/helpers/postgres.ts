import { randomBytes } from "node:crypto";
import pg from "pg";

/** The PostgreSQL the store tests use; CI provides it (`.ci/run`), a developer may not. */
export const POSTGRES_URL =
  process.env.PORTCULLIS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Like `missingPeer`: a reason to skip when PostgreSQL is unreachable, false when it is there. With CI=true
 * an unreachable PostgreSQL fails the run instead. Use with top-level await: `skip: await missingPostgres()`.
 */
export async function missingPostgres(): Promise<string | false> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return false;
  } catch (error) {
    const reason = `needs PostgreSQL at ${POSTGRES_URL} (${(error as Error).message}); Debian: apt-get install postgresql, or set PORTCULLIS_TEST_POSTGRES_URL`;
    if (process.env.CI) throw new Error(`CI must not skip: ${reason}`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh schema of its own, so test files running in parallel never share tables; dropped by `drop`. */
export async function temporarySchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `portcullis_test_${randomBytes(6).toString("hex")}`;
  await query(`CREATE SCHEMA ${schema}`);
  return { schema, drop: () => query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

async function query(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
