/**
 * A zone's managed CA (Cloudflare's `client_certificates`): created on first use, issues client
 * certificates from CSRs, and publishes its revocations as a CRL. Built on src/pki; the store keeps its
 * key encrypted.
 */
import { createHash, X509Certificate } from "node:crypto";
import { createCrl } from "../pki/crl.ts";
import { parseCsr } from "../pki/csr.ts";
import { loadIssuer } from "../pki/issuer.ts";
import { parseSigningConfig } from "../pki/profile.ts";
import { initCa, signCsr } from "../pki/sign.ts";
import { normalizeSerial } from "../revocation/index.ts";
import { newId, timestamp } from "../store/ids.ts";
import type { ClientCertificate, ManagedCa, Zone } from "../store/types.ts";

export const MAX_VALIDITY_DAYS = 3650;
const CA_VALIDITY = "87600h"; // 10 years

/** A new managed CA for the zone: ECDSA P-256, 10 years, pathlen 0 (it issues client certificates only). */
export async function createManagedCa(
  zone: Zone,
  now = new Date(),
): Promise<{ ca: ManagedCa; keyPem: string }> {
  const name = `Portcullis Managed CA for ${zone.name}`;
  const made = await initCa(
    {
      CN: name,
      hosts: [],
      key: { algo: "ecdsa", size: 256 },
      names: [{ O: "Portcullis" }],
      ca: { pathlen: 0, pathlenzero: true, expiry: CA_VALIDITY },
    },
    undefined,
    { now },
  );
  if (!made.key) throw new Error("initCa returned no key");
  return {
    ca: { id: newId(), zoneId: zone.id, name, certificatePem: made.cert, createdAt: timestamp(now) },
    keyPem: made.key,
  };
}

/** The profile every managed client certificate gets: digital signature, clientAuth, `validityDays` long. */
function clientProfile(validityDays: number) {
  return parseSigningConfig({
    signing: {
      default: { usages: ["digital signature", "client auth"], expiry: `${validityDays * 24}h` },
    },
  }).default;
}

/** Issues a client certificate from a CSR (PEM). Throws PkiError for a bad CSR (signature, key size). */
export async function issueClientCertificate(
  ca: ManagedCa,
  caKeyPem: string,
  csrPem: string,
  validityDays: number,
  now = new Date(),
): Promise<ClientCertificate> {
  const csr = await parseCsr(csrPem, "csr");
  const issuer = await loadIssuer(ca.certificatePem, caKeyPem);
  const cert = await signCsr(csr, issuer, clientProfile(validityDays), { now });
  const pem = cert.toString("pem");
  const x509 = new X509Certificate(pem);
  const subject = subjectFields(x509.subject);
  return {
    id: newId(),
    zoneId: ca.zoneId,
    caId: ca.id,
    certificatePem: pem,
    csr: csrPem,
    commonName: subject.CN ?? "",
    country: subject.C ?? "",
    location: subject.L ?? "",
    organization: subject.O ?? "",
    organizationalUnit: subject.OU ?? "",
    serialNumber: normalizeSerial(x509.serialNumber),
    fingerprintSha256: createHash("sha256").update(x509.raw).digest("hex"),
    ski: subjectKeyIdentifier(cert),
    signature: signatureName(x509),
    status: "active",
    validityDays,
    issuedOn: timestamp(x509.validFromDate),
    expiresOn: timestamp(x509.validToDate),
    revokedOn: null,
  };
}

/** The CRL of the managed CA: every revoked (or pending revocation) certificate, valid for a day. */
export async function managedCrl(
  ca: ManagedCa,
  caKeyPem: string,
  revoked: readonly ClientCertificate[],
  now = new Date(),
): Promise<{ der: Buffer; pem: string }> {
  const issuer = await loadIssuer(ca.certificatePem, caKeyPem, "crls");
  return createCrl(issuer, {
    entries: revoked.map((cert) => ({
      serial: BigInt(`0x${cert.serialNumber}`),
      revokedAt: new Date(cert.revokedOn ?? cert.issuedOn),
    })),
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 24 * 3600_000),
  });
}

function subjectFields(subject: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of subject.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && !(line.slice(0, eq) in fields)) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

function subjectKeyIdentifier(cert: { getExtension(type: string): unknown }): string {
  const ext = cert.getExtension("2.5.29.14") as { keyId?: string } | null;
  return (ext?.keyId ?? "").toUpperCase();
}

function signatureName(cert: X509Certificate): string {
  return cert.signatureAlgorithm ?? "";
}
