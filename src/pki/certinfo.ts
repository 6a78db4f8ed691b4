import * as asn1js from "asn1js";
import { GO_SIGNATURE_ALGORITHMS, signatureAlgorithmName } from "./algorithm-names.ts";
import type { Certificate } from "./certificate.ts";
import { publicKeyOf } from "./csr.ts";
import { describeKey } from "./keys.ts";
import { OID } from "./names.ts";
import { x509 } from "./x509.ts";

/** A distinguished name as `cfssl certinfo` prints it. */
export interface CertinfoName {
  common_name?: string;
  serial_number?: string;
  country?: string;
  organization?: string;
  organizational_unit?: string;
  locality?: string;
  province?: string;
  street_address?: string;
  postal_code?: string;
  names: string[];
}

/** The JSON `cfssl certinfo -cert` prints, field for field. */
export interface Certinfo {
  subject: CertinfoName;
  issuer: CertinfoName;
  serial_number: string;
  sans?: string[];
  not_before: string;
  not_after: string;
  sigalg: string;
  authority_key_id: string;
  subject_key_id: string;
  pem: string;
}

const NAME_FIELDS: [string, keyof Omit<CertinfoName, "names">][] = [
  [OID.CN, "common_name"],
  [OID.SerialNumber, "serial_number"],
  [OID.C, "country"],
  [OID.O, "organization"],
  [OID.OU, "organizational_unit"],
  [OID.L, "locality"],
  [OID.ST, "province"],
  [OID.street, "street_address"],
  [OID.postalCode, "postal_code"],
];
const SHORT_NAMES: Record<string, string> = {
  CN: OID.CN,
  C: OID.C,
  O: OID.O,
  OU: OID.OU,
  L: OID.L,
  ST: OID.ST,
  E: OID.E,
};

/** A name's attributes in order, each with its OID. */
function nameAttributes(name: x509.Name): { oid: string; value: string }[] {
  return name
    .toJSON()
    .flatMap((rdn) =>
      Object.entries(rdn).flatMap(([type, values]) =>
        values.map((value) => ({ oid: SHORT_NAMES[type] ?? type, value })),
      ),
    );
}

export function certinfoName(name: x509.Name): CertinfoName {
  const attributes = nameAttributes(name);
  const out: Partial<CertinfoName> = {};
  for (const [oid, key] of NAME_FIELDS) {
    const values = attributes.filter((a) => a.oid === oid).map((a) => a.value);
    if (values.length) out[key] = values.join(",");
  }
  out.names = attributes.map((a) => a.value);
  return out as CertinfoName;
}

/** `cfssl certinfo -cert` for one certificate. */
export function certinfo(cert: Certificate): Certinfo {
  const sans = subjectAltNames(cert);
  return {
    subject: certinfoName(cert.subjectName),
    issuer: certinfoName(cert.issuerName),
    serial_number: BigInt(`0x${cert.serialNumber}`).toString(10),
    ...(sans.length ? { sans } : {}),
    not_before: rfc3339(cert.notBefore),
    not_after: rfc3339(cert.notAfter),
    sigalg: signatureAlgorithmName(cert.signatureAlgorithm),
    authority_key_id: colonHex(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId),
    subject_key_id: colonHex(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId),
    pem: cert.toString("pem").replace(/\r\n/g, "\n").replace(/\n?$/, "\n"),
  };
}

/** DNS names, then IP addresses, then emails, then URIs — the order cfssl lists them. */
export function subjectAltNames(cert: Certificate | x509.Pkcs10CertificateRequest): string[] {
  return ["dns", "ip", "email", "url"].flatMap((type) => sanValues(cert, type));
}

/** The subjectAltName values of one kind (`dns`, `ip`, `email`, `url`…) in a certificate or CSR. */
function sanValues(item: Certificate | x509.Pkcs10CertificateRequest, type: string): string[] {
  const ext = item.extensions.find((e) => e.type === "2.5.29.17");
  if (!ext) return [];
  const names = new x509.SubjectAlternativeNameExtension(ext.rawData).names.toJSON();
  return names.filter((n) => n.type === type).map((n) => n.value);
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `6A:30:A2:…`, uppercase, colon-separated (empty when absent). */
export function colonHex(hex: string | undefined): string {
  return (hex ?? "").toUpperCase().match(/.{2}/g)?.join(":") ?? "";
}

/**
 * JSON as Go's encoding/json writes it (cfssl's output): `<`, `>` and `&` escaped, two-space indent
 * when indented.
 */
export function goJson(value: unknown, indent = false): string {
  return JSON.stringify(value, null, indent ? 2 : undefined).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const GO_PUBLIC_KEY_ALGORITHMS: Record<string, number> = { rsa: 1, ecdsa: 3, ed25519: 4 };
const GO_NAME_FIELDS: [string, string][] = [
  [OID.C, "Country"],
  [OID.O, "Organization"],
  [OID.OU, "OrganizationalUnit"],
  [OID.L, "Locality"],
  [OID.ST, "Province"],
  [OID.street, "StreetAddress"],
  [OID.postalCode, "PostalCode"],
];

/**
 * `cfssl certinfo -csr`: cfssl prints Go's x509.CertificateRequest as JSON; this writes the same
 * fields (binary as base64, OIDs as integer arrays, Go's enum numbers) so scripts reading it keep working.
 */
export function csrInfo(csr: x509.Pkcs10CertificateRequest): Record<string, unknown> {
  const der = new Uint8Array(csr.rawData);
  const root = asn1js.fromBER(der).result as asn1js.Sequence;
  const [tbs, , signature] = root.valueBlock.value as [asn1js.Sequence, asn1js.Sequence, asn1js.BitString];
  const [, subject, spki] = tbs.valueBlock.value as [asn1js.Integer, asn1js.Sequence, asn1js.Sequence];
  const b64 = (block: asn1js.BaseBlock) => Buffer.from(block.valueBeforeDecodeView).toString("base64");
  const key = publicKeyOf(csr);
  const keyKind = describeKey(key, "csr").algo;
  const attributes = nameAttributes(csr.subjectName);
  const goSubject: Record<string, unknown> = {};
  for (const [oid, field] of GO_NAME_FIELDS) {
    const values = attributes.filter((a) => a.oid === oid).map((a) => a.value);
    goSubject[field] = values.length ? values : null;
  }
  goSubject.SerialNumber = attributes.find((a) => a.oid === OID.SerialNumber)?.value ?? "";
  goSubject.CommonName = attributes.find((a) => a.oid === OID.CN)?.value ?? "";
  goSubject.Names = attributes.map((a) => ({ Type: oidInts(a.oid), Value: a.value }));
  goSubject.ExtraNames = null;
  const extensions = csr.extensions.map((e) => ({
    Id: oidInts(e.type),
    Critical: e.critical,
    Value: Buffer.from(e.value).toString("base64"),
  }));
  const sanOf = (type: string) => {
    const values = sanValues(csr, type);
    return values.length ? values : null;
  };
  const jwk = key.export({ format: "jwk" });
  const bigint = (b64url: string | undefined) =>
    BigInt(`0x${Buffer.from(b64url ?? "", "base64url").toString("hex") || "0"}`);
  const publicKey =
    keyKind === "rsa"
      ? { N: bigint(jwk.n), E: Number(bigint(jwk.e)) }
      : keyKind === "ecdsa"
        ? { Curve: { Name: jwk.crv, BitSize: describeKey(key).size }, X: bigint(jwk.x), Y: bigint(jwk.y) }
        : Buffer.from(jwk.x ?? "", "base64url").toString("base64");
  return {
    Raw: Buffer.from(der).toString("base64"),
    RawTBSCertificateRequest: b64(tbs),
    RawSubjectPublicKeyInfo: b64(spki),
    RawSubject: b64(subject),
    Version: 0,
    Signature: Buffer.from(signature.valueBlock.valueHexView.slice(0)).toString("base64"),
    SignatureAlgorithm: GO_SIGNATURE_ALGORITHMS[signatureAlgorithmName(csr.signatureAlgorithm)] ?? 0,
    PublicKeyAlgorithm: GO_PUBLIC_KEY_ALGORITHMS[keyKind] ?? 0,
    PublicKey: publicKey,
    Subject: goSubject,
    Attributes: extensions.length
      ? [
          {
            Type: oidInts("1.2.840.113549.1.9.14"),
            Value: [extensions.map((e) => ({ Type: e.Id, Value: e.Value }))],
          },
        ]
      : null,
    Extensions: extensions.length ? extensions : null,
    ExtraExtensions: null,
    DNSNames: sanOf("dns"),
    EmailAddresses: sanOf("email"),
    IPAddresses: sanOf("ip"),
    URIs: sanOf("url"),
  };
}

function oidInts(oid: string): number[] {
  return oid.split(".").map(Number);
}

/** Go marshals big integers as bare JSON numbers; JSON.stringify cannot, so bigints are written by hand. */
export function goJsonWithBigInts(value: unknown, indent = false): string {
  const marker = "\u0000bigint:";
  const text = goJson(
    JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${marker}${v}` : v))),
    indent,
  );
  return text.replace(/"\\u0000bigint:(\d+)"/g, "$1");
}
