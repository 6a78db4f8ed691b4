/** The PKCS#12 object identifiers and the small pkijs/asn1js helpers the other pkcs12 modules share. */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { PkiError } from "../errors.ts";

export const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  pbeWithSha1And3DesCbc: "1.2.840.113549.1.12.1.3",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

/** A ContentInfo of type data wrapping `content`. */
export function dataContentInfo(content: Buffer): pkijs.ContentInfo {
  return new pkijs.ContentInfo({ contentType: OID.data, content: octetString(content) });
}

export function octetString(bytes: Uint8Array | ArrayBuffer): asn1js.OctetString {
  return new asn1js.OctetString({ valueHex: toArrayBuffer(bytes) });
}

export function der(value: { toSchema(): asn1js.BaseBlock }): Buffer {
  return Buffer.from(value.toSchema().toBER(false));
}

/** pkijs and asn1js take an ArrayBuffer holding exactly the bytes (a Buffer may share a larger pool). */
export function toArrayBuffer(bytes: Uint8Array | ArrayBuffer): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Runs a pkijs/asn1js parse step; its exceptions become one PkiError naming what was malformed. */
export function structure<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw new PkiError("E_INPUT", what);
  }
}
