import { StoreError } from "./types.ts";

/**
 * Driver errors → StoreError. node:sqlite reports extended result codes in `errcode`; pg reports SQLSTATE in
 * `code`, or a Node system error code when it cannot connect at all.
 */

interface DriverError {
  code?: unknown;
  errcode?: unknown;
  message?: unknown;
}

const SQLITE_CONSTRAINT = 19;
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
/** BUSY, LOCKED, CANTOPEN, IOERR, FULL, READONLY, CORRUPT, NOTADB (primary codes). */
const SQLITE_UNAVAILABLE = new Set([5, 6, 14, 10, 13, 8, 11, 26]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EPIPE",
]);

export type Violation = "unique" | "foreign_key" | undefined;

/** Which constraint a driver error broke, if any. */
export function violation(error: unknown): Violation {
  const { code, errcode } = (error ?? {}) as DriverError;
  if (code === "23505") return "unique";
  if (code === "23503") return "foreign_key";
  if (typeof errcode === "number" && (errcode & 0xff) === SQLITE_CONSTRAINT) {
    if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) return "unique";
    if (errcode === SQLITE_CONSTRAINT_FOREIGNKEY) return "foreign_key";
  }
  return undefined;
}

/** PostgreSQL asks the client to run the transaction again. */
export function isRetryable(error: unknown): boolean {
  const { code } = (error ?? {}) as DriverError;
  return code === "40001" || code === "40P01";
}

/** Whether the database could not be reached or used at all (as opposed to a bad query). */
export function isUnavailable(error: unknown): boolean {
  const { code, errcode, message } = (error ?? {}) as DriverError;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code)) return true;
    // 08: connection exception; 57P0x: shutdown; 3D000: no such database; 28: authentication; 53: resources.
    if (/^(08|28|53|57P0)/.test(code) || code === "3D000") return true;
  }
  if (typeof errcode === "number" && SQLITE_UNAVAILABLE.has(errcode & 0xff)) return true;
  return (
    typeof message === "string" &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  );
}

/** How to name a constraint error for one operation. */
export interface ErrorNames {
  /** The operation, for errors that are not constraint violations, e.g. `insert zone <id>`. */
  what: string;
  /** The message of a unique violation (code conflict). */
  unique?: string;
  /** The code and message of a foreign key violation: in_use for deletes, invalid for inserts. */
  reference?: [code: "in_use" | "invalid", message: string];
}

/** A StoreError for `error` when it is one we can name; otherwise the error itself (e.g. for a retry). */
export function toStoreError(error: unknown, names: ErrorNames): unknown {
  if (error instanceof StoreError) return error;
  const broke = violation(error);
  if (broke === "unique") return new StoreError("conflict", names.unique ?? `${names.what}: already exists`);
  if (broke === "foreign_key") {
    const [code, message] = names.reference ?? ["in_use", `${names.what}: a reference does not hold`];
    return new StoreError(code, message);
  }
  if (isUnavailable(error)) {
    const reason = (error as DriverError).message ?? (error as DriverError).code;
    return new StoreError("unavailable", `${names.what}: the database is unavailable (${String(reason)})`);
  }
  return error;
}
