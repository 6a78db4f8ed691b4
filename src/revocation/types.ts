import type { CrlSource } from "../config/types.ts";

/** A verified CRL as the edge uses it. */
export interface CrlInfo {
  source: CrlSource;
  /** Lowercase hex SHA-256 of the DER of the trusted CA that signed it. */
  issuerFingerprint256: string;
  /** Revoked serials, normalized (normalizeSerial). */
  serials: Set<string>;
  thisUpdateMs: number;
  nextUpdateMs: number | null;
  /** The CRL Number in decimal; null when the CRL has none. */
  crlNumber: string | null;
  /** When this copy was fetched or read (for a cached copy: when it was fetched). */
  fetchedAtMs: number;
  /** True when the URL could not be used and this is the last good copy from the disk cache. */
  fromCache: boolean;
}

/** Per source: the CRL in force (with the last refresh error, if the latest attempt failed), or why there is none. */
export type CrlStatus =
  | { ok: true; crl: CrlInfo; lastError?: string }
  | { ok: false; source: CrlSource; error: string };
