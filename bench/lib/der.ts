/**
 * A minimal DER writer: just enough ASN.1 to mint the benchmark's certificates and CRLs fast (10,000 CAs
 * and a 1,000,000-entry CRL in about a second), without going through WebCrypto or `openssl ca`.
 */

export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(length), ...parts]);
}

export function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
export const set = (...parts: Buffer[]): Buffer => tlv(0x31, ...parts);
export const octets = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.from([0]), bytes);
export const utf8 = (text: string): Buffer => tlv(0x0c, Buffer.from(text, "utf8"));
export const bool = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0]));
export const NULL = Buffer.from([0x05, 0x00]);
/** Context-specific constructed [n] (EXPLICIT tagging). */
export const explicit = (n: number, ...parts: Buffer[]): Buffer => tlv(0xa0 | n, ...parts);

/** A non-negative INTEGER from its big-endian magnitude. */
export function integer(magnitude: Buffer | number): Buffer {
  let bytes = typeof magnitude === "number" ? numberBytes(magnitude) : magnitude;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

function numberBytes(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes.length ? bytes : [0]);
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const out = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime (years before 2050) or GeneralizedTime, whole seconds. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-25T08:09:08.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "latin1"));
  return tlv(0x18, Buffer.from(`${digits}Z`, "latin1"));
}

export function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64");
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
