/** A mistake in how a command was called (unknown flag, missing argument): exit code 2, like Go's flag package. */
export class UsageError extends Error {
  override name = "UsageError";
}
