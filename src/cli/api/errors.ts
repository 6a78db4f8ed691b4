/**
 * The API commands' failures and exit codes: 0 ok, 1 the API refused or something failed (one line,
 * with the API's error code), 2 usage, 3 not found (the API's 404, or a name that matches nothing),
 * 70 internal error.
 */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, internal: 70 } as const;

/** A failure with a chosen exit code, printed as `error: MESSAGE`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.error) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Something the user named (by name or id) does not exist: exit 3. */
export function notFoundError(message: string): CliError {
  return new CliError(message, EXIT.notFound);
}

/** What each exit code means (help and docs/cli.md). */
export const EXIT_MEANINGS: readonly [number, string][] = [
  [EXIT.ok, "success (also a declined confirmation: nothing changed)"],
  [
    EXIT.error,
    "the API refused (its error code is shown), the API is unreachable, or a local file is unreadable",
  ],
  [EXIT.usage, "usage: unknown command or flag, missing or bad argument, no token configured"],
  [EXIT.notFound, "not found: the API answered 404, or a name matched nothing"],
  [EXIT.internal, "internal error (a bug; PORTCULLIS_DEBUG=1 prints the stack)"],
];
