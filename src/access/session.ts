/** Session durations: Go durations as Cloudflare takes them (`24h` default, `0s` = check every request). */
import { parseGoDuration } from "../pki/duration.ts";

export const DEFAULT_SESSION_DURATION = "24h";
/** Cloudflare's longest session is one month. */
export const MAX_SESSION_MS = 730 * 3_600_000;
/**
 * How long a token issued under `0s` stays verifiable by the origin (`Cf-Access-Jwt-Assertion`): the edge
 * itself never accepts it back as a cookie, whatever its exp.
 */
export const ASSERTION_TTL_MS = 60_000;

/** Milliseconds of a valid session duration (checked with `checkSessionDuration` when saved). */
export function sessionMs(duration: string): number {
  return parseGoDuration(duration, "session_duration");
}

/** The problem with a session duration, or null when it is fine. */
export function sessionDurationProblem(duration: string): string | null {
  let ms: number;
  try {
    ms = sessionMs(duration);
  } catch {
    return `${JSON.stringify(duration)} is not a Go duration (e.g. "24h", "30m", "0s")`;
  }
  if (ms < 0) return "must not be negative";
  if (ms > MAX_SESSION_MS) return "must be at most 730h (one month)";
  return null;
}
