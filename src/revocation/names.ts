/**
 * Distinguished-name equality as OpenSSL decides it (X509_NAME_cmp on the canonical encoding): string
 * types ignored, ASCII case folded, spaces trimmed and collapsed. Byte equality is not enough: Go (cfssl)
 * re-encodes a CA's PrintableString subject as the CRL issuer's UTF8String, and OpenSSL still matches them.
 */
import { decodeOid, expectTlv, TAG, Tlv } from "./der.ts";

/** True when two DER Names are the same name. */
export function sameName(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  try {
    return canonicalName(a) === canonicalName(b);
  } catch {
    return false; // a malformed name (odd-length BMPString…) matches nothing
  }
}

/** A string that is equal for equal names: per RDN, its sorted `oid=value` pairs. */
export function canonicalName(der: Buffer): string {
  const name = new Tlv();
  const rdn = new Tlv();
  const atv = new Tlv();
  const t = new Tlv();
  expectTlv(der, 0, der.length, name, TAG.SEQUENCE, "Name");
  const rdns: string[][] = [];
  for (let pos = name.start; pos < name.end; ) {
    pos = expectTlv(der, pos, name.end, rdn, TAG.SET, "RelativeDistinguishedName");
    const pairs: string[] = [];
    for (let p = rdn.start; p < rdn.end; ) {
      p = expectTlv(der, p, rdn.end, atv, TAG.SEQUENCE, "AttributeTypeAndValue");
      const typeEnd = expectTlv(der, atv.start, atv.end, t, TAG.OID, "AttributeType");
      const type = decodeOid(der, t.start, t.end);
      expectTlv(der, typeEnd, atv.end, t, der[typeEnd] as number, "AttributeValue");
      pairs.push(`${type}=${canonicalValue(der, t)}`);
    }
    rdns.push(pairs.sort());
  }
  return JSON.stringify(rdns);
}

function canonicalValue(der: Buffer, value: Tlv): string {
  const text = stringValue(der.subarray(value.start, value.end), value.tag);
  // Not a string type: compared byte for byte ("#" cannot start a canonical string, which is trimmed text).
  if (text === null) return `#${der.toString("hex", value.begin, value.end)}`;
  return text
    .trim()
    .replace(/\s+/g, " ")
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function stringValue(bytes: Buffer, tag: number): string | null {
  switch (tag) {
    case 0x0c: // UTF8String
      return bytes.toString("utf8");
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString: OpenSSL reads it as Latin-1
    case 0x16: // IA5String
    case 0x1a: // VisibleString
      return bytes.toString("latin1");
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(bytes).swap16().toString("utf16le");
    case 0x1c: {
      // UniversalString: UTF-32BE
      let text = "";
      for (let i = 0; i + 3 < bytes.length; i += 4) text += String.fromCodePoint(bytes.readUInt32BE(i));
      return text;
    }
    default:
      return null;
  }
}
