/**
 * One spelling for a serial number, so a CRL entry and a presented certificate compare as strings:
 * uppercase hex without leading zeros ("0" for zero), "-" before a negative one. Node's
 * `X509Certificate.serialNumber` ("0A", "-05") normalizes to the same.
 */
import { RevocationError } from "./errors.ts";

const HEX_SERIAL = /^(-?)(?:0x)?([0-9a-f]+)$/i;

/** Normalizes a hex serial; colons (`0a:1b`) and a `0x` prefix are allowed. */
export function normalizeSerial(hex: string): string {
  const match = HEX_SERIAL.exec(hex.includes(":") ? hex.replaceAll(":", "") : hex);
  if (!match) throw new RevocationError(`"${hex}" is not a hex serial number`);
  const digits = (match[2] as string).replace(/^0+/, "").toUpperCase();
  if (digits === "") return "0";
  return `${match[1]}${digits}`;
}

const HEX_DIGITS = Buffer.from("0123456789ABCDEF", "latin1");
// Serials are at most 20 octets (RFC 5280), but CRLs in the wild break that: room for 127 octets.
const scratch = Buffer.allocUnsafe(256);

/**
 * The normalized serial of a DER INTEGER's contents `buf[start..end)`. Hot path: a CRL may hold a million
 * of these, so positive serials are written straight into a scratch buffer as ASCII (one native string
 * creation each, no toUpperCase or regex).
 */
export function serialFromDer(buf: Uint8Array, start: number, end: number): string {
  if ((buf[start] as number) & 0x80) return negativeSerial(buf, start, end);
  while (start < end && buf[start] === 0) start++;
  if (start === end) return "0";
  if ((end - start) * 2 > scratch.length)
    return normalizeSerial(Buffer.from(buf.subarray(start, end)).toString("hex"));
  let n = 0;
  const first = buf[start] as number;
  if (first >= 0x10) scratch[n++] = HEX_DIGITS[first >> 4] as number; // no leading zero digit
  scratch[n++] = HEX_DIGITS[first & 0x0f] as number;
  for (let i = start + 1; i < end; i++) {
    const byte = buf[i] as number;
    scratch[n++] = HEX_DIGITS[byte >> 4] as number;
    scratch[n++] = HEX_DIGITS[byte & 0x0f] as number;
  }
  return scratch.toString("latin1", 0, n);
}

/** Two's complement, rare (RFC 5280 forbids negative serials, some CAs issued them): take the slow path. */
function negativeSerial(buf: Uint8Array, start: number, end: number): string {
  let value = 0n;
  for (let i = start; i < end; i++) value = (value << 8n) | BigInt(buf[i] as number);
  value -= 1n << BigInt((end - start) * 8);
  return `-${(-value).toString(16).toUpperCase()}`;
}
