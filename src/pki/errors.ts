/**
 * Errors are values with a stable code. `where` names the file and/or field the problem is in,
 * so every front end (CLI, API) can print one line that tells the user what to fix.
 */
export type PkiErrorCode =
  | "E_INPUT" // unreadable or missing input
  | "E_JSON" // malformed JSON
  | "E_FIELD" // a field has a bad value
  | "E_KEY" // key unreadable, unsupported, too small, or not matching
  | "E_CERT" // certificate unreadable or unsuitable
  | "E_CSR" // CSR unreadable or its signature fails
  | "E_CRL" // CRL unreadable
  | "E_PROFILE"; // signing profile unknown or invalid

export class PkiError extends Error {
  readonly code: PkiErrorCode;
  /** The field path inside the input (e.g. `key.size`, `signing.profiles.client.expiry`). */
  readonly field: string | undefined;
  /** The file the input came from, once a front end knows it. */
  readonly file: string | undefined;
  readonly detail: string;

  constructor(code: PkiErrorCode, detail: string, where: { field?: string; file?: string } = {}) {
    super(formatMessage(detail, where));
    this.name = "PkiError";
    this.code = code;
    this.detail = detail;
    this.field = where.field;
    this.file = where.file;
  }

  /** The same error, located in `file` (keeps a file that is already set). */
  inFile(file: string): PkiError {
    if (this.file) return this;
    return new PkiError(this.code, this.detail, { file, ...(this.field ? { field: this.field } : {}) });
  }
}

function formatMessage(detail: string, where: { field?: string; file?: string }): string {
  const prefix = [where.file, where.field].filter(Boolean).join(": ");
  return prefix ? `${prefix}: ${detail}` : detail;
}

/** Runs `fn`, re-throwing any PkiError located in `file`. */
export async function inFile<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PkiError) throw err.inFile(file);
    throw err;
  }
}
