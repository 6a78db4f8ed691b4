/**
 * The checks every CRL passes before it is used, wherever it came from: PEM or DER, well formed, signed
 * by a CA each referencing host trusts, and (on refresh) not older than the copy in force.
 */

import { RevocationError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { findCrlIssuer } from "./issuer.ts";
import { type ParsedCrlFast, parseCrlFast } from "./parse.ts";
import { crlDer } from "./pem.ts";
import type { CrlInfo } from "./types.ts";

/** A host that lists the source: its field (`hostnames[0].mtls.crls[0]`) and its trusted CAs. */
export interface Trust {
  field: string;
  trustedCasPem: readonly string[];
}

export interface VerifiedCrl {
  parsed: ParsedCrlFast;
  issuerFingerprint256: string;
  /** SHA-256 of the DER: the same CRL read again is no change. */
  sha256: string;
}

/**
 * Parses `bytes` and finds its issuer among each host's trusted CAs. Errors are prefixed with the field of
 * the host that rejects it and `location` (the file or URL): `hostnames[1].mtls.crls[0]: ca.crl: …`.
 */
export function verifyCrlBytes(bytes: Buffer, trust: readonly Trust[], location: string): VerifiedCrl {
  const first = trust[0];
  if (!first) throw new RevocationError(`${location}: no host uses this CRL`);
  let parsed: ParsedCrlFast;
  try {
    parsed = parseCrlFast(crlDer(bytes));
  } catch (err) {
    throw located(err, `${first.field}: ${location}`);
  }
  let issuerFingerprint256: string | null = null;
  for (const host of trust) {
    const issuer = findCrlIssuer(parsed, host.trustedCasPem);
    if (!issuer) {
      throw new RevocationError(
        `${host.field}: ${location}: not issued and signed by any of the host's trusted CAs (issuer name and signature checked)`,
      );
    }
    issuerFingerprint256 ??= issuer.fingerprint256;
  }
  return { parsed, issuerFingerprint256: issuerFingerprint256 as string, sha256: sha256(parsed.der) };
}

/**
 * Why `next` must not replace `current`, or null when it may: from the same CA, a lower CRL Number, or
 * (when either lacks one) an earlier thisUpdate, is a rollback — a stale mirror or a replayed copy.
 */
export function olderThan(next: VerifiedCrl, current: CrlInfo): string | null {
  if (next.issuerFingerprint256 !== current.issuerFingerprint256) return null;
  const { crlNumber, thisUpdateMs } = next.parsed;
  if (crlNumber !== null && current.crlNumber !== null && crlNumber !== current.crlNumber) {
    return BigInt(crlNumber) < BigInt(current.crlNumber)
      ? `refused: CRL number ${crlNumber} is older than the ${current.crlNumber} in use`
      : null;
  }
  if (thisUpdateMs < current.thisUpdateMs) {
    return `refused: thisUpdate ${new Date(thisUpdateMs).toISOString()} is older than the ${new Date(current.thisUpdateMs).toISOString()} in use`;
  }
  return null;
}

/** The CrlInfo of a verified CRL. */
export function crlInfo(
  verified: VerifiedCrl,
  source: CrlInfo["source"],
  fetchedAtMs: number,
  fromCache: boolean,
): CrlInfo {
  const { parsed } = verified;
  return {
    source,
    issuerFingerprint256: verified.issuerFingerprint256,
    serials: parsed.serials,
    thisUpdateMs: parsed.thisUpdateMs,
    nextUpdateMs: parsed.nextUpdateMs,
    crlNumber: parsed.crlNumber,
    fetchedAtMs,
    fromCache,
  };
}

function located(err: unknown, where: string): Error {
  return err instanceof RevocationError ? err.within(where) : new RevocationError(`${where}: ${String(err)}`);
}
