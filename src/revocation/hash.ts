import { createHash } from "node:crypto";

/** Lowercase hex SHA-256: CRL identity (same bytes, no change) and cache file names. */
export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
