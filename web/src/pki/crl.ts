/**
 * Reads a CRL (DER) in the browser: when it was issued, when the next is due, how many it revokes. Walks
 * the TBSCertList with asn1js only (lenient: an empty crlEntryExtensions, which pkijs refuses, is fine).
 */
import * as asn1js from "asn1js";

export interface CrlFacts {
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revoked: number;
}

function children(block: asn1js.AsnType | undefined): asn1js.AsnType[] {
  const value = (block as asn1js.Sequence | undefined)?.valueBlock?.value;
  return Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
}

function isTime(block: asn1js.AsnType | undefined): block is asn1js.UTCTime | asn1js.GeneralizedTime {
  return block instanceof asn1js.UTCTime || block instanceof asn1js.GeneralizedTime;
}

export function readCrl(der: Uint8Array): CrlFacts {
  const parsed = asn1js.fromBER(der.slice().buffer as ArrayBuffer);
  if (parsed.offset === -1) throw new Error("The CRL is not valid DER.");
  const tbs = children(children(parsed.result)[0]);
  // version (optional INTEGER), signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] extensions?
  let index = tbs[0] instanceof asn1js.Integer ? 1 : 0;
  index += 2;
  const thisUpdate = tbs[index];
  if (!isTime(thisUpdate)) throw new Error("The CRL has no thisUpdate time.");
  index += 1;
  const next = tbs[index];
  const nextUpdate = isTime(next) ? next.toDate() : undefined;
  if (nextUpdate) index += 1;
  const list = tbs[index];
  const revoked = list instanceof asn1js.Sequence ? children(list).length : 0;
  return { thisUpdate: thisUpdate.toDate(), nextUpdate, revoked };
}
