/**
 * A minimal, allocation-free DER reader: just enough to walk a CRL or a certificate with 10^6 entries
 * without building an object tree (asn1js/pkijs build one per node and are far too slow at that size).
 */
import { invalidCrl } from "./errors.ts";

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One element: `tag`, its contents `start..end`, and `begin` (where its tag byte is). Reused between reads. */
export class Tlv {
  tag = 0;
  begin = 0;
  start = 0;
  end = 0;
}

/**
 * Reads the element at `pos` (which must end by `limit`) into `out` and returns `out.end`. Single-byte
 * tags and definite lengths only, as DER requires; `what` names the element in the error.
 */
export function readTlv(buf: Uint8Array, pos: number, limit: number, out: Tlv, what: string): number {
  if (pos + 2 > limit) throw invalidCrl(`${what}: truncated`);
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw invalidCrl(`${what}: multi-byte tag`);
  let length = buf[pos + 1] as number;
  let start = pos + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 octets would be a > 4 GiB element.
    if (octets === 0 || octets > 4) throw invalidCrl(`${what}: bad length`);
    if (start + octets > limit) throw invalidCrl(`${what}: truncated`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (buf[start + i] as number);
    start += octets;
  }
  const end = start + length;
  if (end > limit) throw invalidCrl(`${what}: truncated`);
  out.tag = tag;
  out.begin = pos;
  out.start = start;
  out.end = end;
  return end;
}

/** Like readTlv, and the tag must be `tag`. */
export function expectTlv(
  buf: Uint8Array,
  pos: number,
  limit: number,
  out: Tlv,
  tag: number,
  what: string,
): number {
  const end = readTlv(buf, pos, limit, out, what);
  if (out.tag !== tag) {
    throw invalidCrl(`${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(out.tag)}`);
  }
  return end;
}

/** The dotted form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(buf: Uint8Array, start: number, end: number): string {
  const arcs: number[] = [];
  let value = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0)
        arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (arcs.length === 0 || (buf[end - 1] as number) & 0x80) throw invalidCrl("malformed object identifier");
  return arcs.join(".");
}

/** A non-negative INTEGER's value as a decimal string (CRL numbers may be 20 octets: bigint). */
export function decodeUnsignedDecimal(buf: Uint8Array, start: number, end: number, what: string): string {
  if (start === end || (buf[start] as number) & 0x80) throw invalidCrl(`${what}: not a non-negative integer`);
  let value = 0n;
  for (let i = start; i < end; i++) value = (value << 8n) | BigInt(buf[i] as number);
  return value.toString();
}

/**
 * UTCTime (YYMMDDHHMMSSZ; 50–99 are 19xx, RFC 5280) or GeneralizedTime (YYYYMMDDHHMMSSZ), as Unix ms.
 * Fractional seconds are accepted for GeneralizedTime, though RFC 5280 forbids them, as OpenSSL does.
 */
export function decodeTime(buf: Uint8Array, tlv: Tlv, what: string): number {
  const text = Buffer.from(buf.buffer, buf.byteOffset + tlv.start, tlv.end - tlv.start).toString("latin1");
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.UTC_TIME) {
    match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    year = match ? Number(match[1]) : 0;
    year += year < 50 ? 2000 : 1900;
  } else if (tlv.tag === TAG.GENERALIZED_TIME) {
    match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(text);
    year = match ? Number(match[1]) : 0;
  } else {
    throw invalidCrl(`${what}: not a time`);
  }
  if (!match) throw invalidCrl(`${what}: malformed time "${text}"`);
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw invalidCrl(`${what}: impossible time "${text}"`);
  }
  return ms;
}

/** True when `a[aStart..aEnd)` equals `b`. */
export function bytesEqual(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array): boolean {
  if (aEnd - aStart !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[aStart + i] !== b[i]) return false;
  return true;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
