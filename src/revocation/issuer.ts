/**
 * findCrlIssuer: which trusted CA signed a CRL. The CA's subject must be the CRL's issuer, its key usage
 * (when present) must allow cRLSign, and its key must verify the signature over tbsCertList.
 */
import {
  createHash,
  constants as cryptoConstants,
  type KeyObject,
  verify,
  X509Certificate,
} from "node:crypto";
import { decodeOid, expectTlv, readTlv, TAG, Tlv } from "./der.ts";
import { sameName } from "./names.ts";
import type { ParsedCrlFast } from "./parse.ts";

export interface CrlIssuer {
  /** Lowercase hex SHA-256 of the CA certificate's DER. */
  fingerprint256: string;
}

/** The trusted CA (PEM certificates) that issued and signed the CRL, or null when none did. */
export function findCrlIssuer(crl: ParsedCrlFast, trustedCasPem: readonly string[]): CrlIssuer | null {
  for (const pem of trustedCasPem) {
    const ca = readCa(pem);
    if (!ca?.mayCrlSign || !sameName(ca.subjectDer, crl.issuerDer)) continue;
    if (verifyCrlSignature(crl, ca.cert.publicKey)) {
      return { fingerprint256: createHash("sha256").update(ca.cert.raw).digest("hex") };
    }
  }
  return null;
}

interface CaFacts {
  cert: X509Certificate;
  subjectDer: Buffer;
  mayCrlSign: boolean;
}

/** The CA's subject Name DER and key usage, read from its DER (X509Certificate exposes neither). */
function readCa(pem: string): CaFacts | null {
  try {
    const cert = new X509Certificate(pem);
    const der = cert.raw;
    const t = new Tlv();
    expectTlv(der, 0, der.length, t, TAG.SEQUENCE, "Certificate");
    const tbsEnd = expectTlv(der, t.start, t.end, t, TAG.SEQUENCE, "tbsCertificate");
    let pos = readTlv(der, t.start, tbsEnd, t, "version");
    if (t.tag === 0xa0) pos = readTlv(der, pos, tbsEnd, t, "serialNumber");
    pos = expectTlv(der, pos, tbsEnd, t, TAG.SEQUENCE, "signature");
    pos = expectTlv(der, pos, tbsEnd, t, TAG.SEQUENCE, "issuer");
    pos = expectTlv(der, pos, tbsEnd, t, TAG.SEQUENCE, "validity");
    pos = expectTlv(der, pos, tbsEnd, t, TAG.SEQUENCE, "subject");
    const subjectDer = der.subarray(t.begin, t.end);
    let mayCrlSign = true;
    while (pos < tbsEnd) {
      pos = readTlv(der, pos, tbsEnd, t, "tbsCertificate");
      if (t.tag === 0xa3) mayCrlSign = keyUsageAllowsCrlSign(der, t);
    }
    return { cert, subjectDer, mayCrlSign };
  } catch {
    return null; // not a certificate we can use; the config loader reports bad PEM itself
  }
}

/** keyUsage (2.5.29.15), when present, must have cRLSign (bit 6). */
function keyUsageAllowsCrlSign(der: Buffer, explicit: Tlv): boolean {
  const exts = new Tlv();
  const ext = new Tlv();
  const t = new Tlv();
  expectTlv(der, explicit.start, explicit.end, exts, TAG.SEQUENCE, "extensions");
  for (let pos = exts.start; pos < exts.end; ) {
    pos = expectTlv(der, pos, exts.end, ext, TAG.SEQUENCE, "extension");
    let p = expectTlv(der, ext.start, ext.end, t, TAG.OID, "extnID");
    if (decodeOid(der, t.start, t.end) !== "2.5.29.15") continue;
    p = readTlv(der, p, ext.end, t, "extension");
    if (t.tag === 0x01) readTlv(der, p, ext.end, t, "extnValue");
    const bits = new Tlv();
    expectTlv(der, t.start, t.end, bits, TAG.BIT_STRING, "keyUsage");
    const firstByte = bits.end - bits.start > 1 ? (der[bits.start + 1] as number) : 0;
    return (firstByte & 0x02) !== 0;
  }
  return true;
}

const HASH_BY_OID: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Signature algorithm OID → digest and key family, for node:crypto verify. */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null; keys: readonly string[] }> = {
  "1.2.840.113549.1.1.5": { hash: "sha1", keys: ["rsa"] },
  "1.2.840.113549.1.1.14": { hash: "sha224", keys: ["rsa"] },
  "1.2.840.113549.1.1.11": { hash: "sha256", keys: ["rsa"] },
  "1.2.840.113549.1.1.12": { hash: "sha384", keys: ["rsa"] },
  "1.2.840.113549.1.1.13": { hash: "sha512", keys: ["rsa"] },
  "1.2.840.10045.4.1": { hash: "sha1", keys: ["ec"] },
  "1.2.840.10045.4.3.1": { hash: "sha224", keys: ["ec"] },
  "1.2.840.10045.4.3.2": { hash: "sha256", keys: ["ec"] },
  "1.2.840.10045.4.3.3": { hash: "sha384", keys: ["ec"] },
  "1.2.840.10045.4.3.4": { hash: "sha512", keys: ["ec"] },
  "1.3.101.112": { hash: null, keys: ["ed25519"] },
  "1.3.101.113": { hash: null, keys: ["ed448"] },
};
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const MGF1 = "1.2.840.113549.1.1.8";

/** True when `key` verifies the CRL's signature; false for a wrong key, a bad signature or an unknown algorithm. */
export function verifyCrlSignature(crl: ParsedCrlFast, key: KeyObject): boolean {
  const { oid, parameters } = crl.signatureAlgorithm;
  try {
    if (oid === RSASSA_PSS) {
      const pss = parameters ? pssParameters(parameters) : { hash: "sha1", saltLength: 20 };
      if (!pss || !["rsa", "rsa-pss"].includes(key.asymmetricKeyType ?? "")) return false;
      return verify(
        pss.hash,
        crl.tbs,
        {
          key,
          padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
          saltLength: pss.saltLength,
        },
        crl.signature,
      );
    }
    const algorithm = SIGNATURE_ALGORITHMS[oid];
    if (!algorithm?.keys.includes(key.asymmetricKeyType ?? "")) return false;
    return verify(algorithm.hash, crl.tbs, key, crl.signature);
  } catch {
    return false; // e.g. a malformed ECDSA signature
  }
}

/**
 * RSASSA-PSS-params (RFC 4055): hash [0], maskGen [1], saltLength [2], trailerField [3]. Node uses the
 * signature hash for MGF1, so a different MGF1 hash is unsupported (null).
 */
function pssParameters(params: Buffer): { hash: string; saltLength: number } | null {
  const seq = new Tlv();
  const field = new Tlv();
  const t = new Tlv();
  expectTlv(params, 0, params.length, seq, TAG.SEQUENCE, "RSASSA-PSS-params");
  let hash = "sha1";
  let mgfHash = "sha1";
  let saltLength = 20;
  for (let pos = seq.start; pos < seq.end; ) {
    pos = readTlv(params, pos, seq.end, field, "RSASSA-PSS-params");
    if (field.tag === 0xa0) {
      hash = hashOf(params, field.start, field.end) ?? "";
    } else if (field.tag === 0xa1) {
      const alg = new Tlv();
      expectTlv(params, field.start, field.end, alg, TAG.SEQUENCE, "maskGenAlgorithm");
      const oidEnd = expectTlv(params, alg.start, alg.end, t, TAG.OID, "maskGenAlgorithm");
      if (decodeOid(params, t.start, t.end) !== MGF1) return null;
      mgfHash = hashOf(params, oidEnd, alg.end) ?? "";
    } else if (field.tag === 0xa2) {
      expectTlv(params, field.start, field.end, t, TAG.INTEGER, "saltLength");
      if (t.end - t.start > 2) return null;
      saltLength = params.readUIntBE(t.start, t.end - t.start);
    } else if (field.tag === 0xa3) {
      expectTlv(params, field.start, field.end, t, TAG.INTEGER, "trailerField");
      if (t.end - t.start !== 1 || params[t.start] !== 1) return null;
    }
  }
  if (!hash || hash !== mgfHash) return null;
  return { hash, saltLength };
}

/** The digest name of the AlgorithmIdentifier at `start`. */
function hashOf(buf: Buffer, start: number, end: number): string | null {
  const alg = new Tlv();
  const t = new Tlv();
  expectTlv(buf, start, end, alg, TAG.SEQUENCE, "hash AlgorithmIdentifier");
  expectTlv(buf, alg.start, alg.end, t, TAG.OID, "hash algorithm");
  return HASH_BY_OID[decodeOid(buf, t.start, t.end)] ?? null;
}
