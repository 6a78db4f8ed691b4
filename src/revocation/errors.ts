/**
 * One error type for everything revocation: a one-line message that already names where the problem
 * is (YAML field, file or URL), so the CLI and the status API can print it as is.
 */
export class RevocationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RevocationError";
  }

  /** The same error with `where` (`hostnames[0].mtls.crls[0]: ca.crl`) in front. */
  within(where: string): RevocationError {
    return new RevocationError(`${where}: ${this.message}`, { cause: this });
  }
}

/** "not a valid CRL: …", the one message every parse failure shares. */
export function invalidCrl(detail: string): RevocationError {
  return new RevocationError(`not a valid CRL: ${detail}`);
}

/** The message of anything thrown, for status and logs. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
