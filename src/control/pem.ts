/**
 * Checks an uploaded certificate (and key) before it is stored, each failure a 400 naming the field:
 * the PEM parses; the chain is in order (each certificate issued by the next); `ca: true` needs
 * basicConstraints CA:TRUE on the first certificate; the key matches the leaf; nothing has expired.
 */
import { X509Certificate } from "node:crypto";
import { certificateFields } from "../edge/identity.ts";
import { signatureAlgorithmName } from "../pki/algorithm-names.ts";
import { parseCertificates } from "../pki/certificate.ts";
import { PkiError } from "../pki/errors.ts";
import { exportPrivateKeyPem, keyMatchesPublicKey, parsePrivateKey } from "../pki/keys.ts";
import { encodePem } from "../pki/pem.ts";
import { timestamp } from "../store/ids.ts";
import type { Timestamp } from "../store/types.ts";
import { invalid } from "./errors.ts";

export const MAX_CHAIN = 10;

export interface UploadInput {
  certificates: string;
  private_key?: string | undefined;
  ca: boolean;
}

export interface CheckedUpload {
  /** The chain re-encoded as PEM, leaf first. */
  certificates: string;
  /** PEM (PKCS#1, SEC1 or PKCS#8 by key type), when a key was uploaded. */
  privateKeyPem: string | undefined;
  /** RFC 2253, as OpenSSL prints it. */
  issuer: string;
  /** Decimal, as Cloudflare shows it. */
  serialNumber: string;
  /** Go's name, e.g. `SHA256WithRSA`, `ECDSAWithSHA256`. */
  signature: string;
  expiresOn: Timestamp;
}

function parseOrFail<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof PkiError) throw invalid(field, err.detail);
    throw err;
  }
}

function decimalSerial(hex: string): string {
  const negative = hex.startsWith("-");
  const digits = BigInt(`0x${negative ? hex.slice(1) : hex}`).toString(10);
  return negative ? `-${digits}` : digits;
}

export function checkUpload(input: UploadInput, now: Date = new Date()): CheckedUpload {
  if (!input.certificates.includes("-----BEGIN")) {
    throw invalid("certificates", "expected PEM text with at least one BEGIN CERTIFICATE block");
  }
  const parsed = parseOrFail("certificates", () => parseCertificates(input.certificates, "certificates"));
  if (parsed.length > MAX_CHAIN) {
    throw invalid("certificates", `at most ${MAX_CHAIN} certificates, got ${parsed.length}`);
  }
  const chain = parsed.map((cert, index) => {
    try {
      return new X509Certificate(Buffer.from(cert.rawData));
    } catch {
      throw invalid("certificates", `certificate #${index + 1} is not a valid X.509 certificate`);
    }
  });
  chain.forEach((cert, index) => {
    const issuer = chain[index + 1];
    if (issuer && !(cert.checkIssued(issuer) && cert.verify(issuer.publicKey))) {
      throw invalid("certificates", `certificate #${index + 2} did not issue certificate #${index + 1}`);
    }
    if (cert.validToDate.getTime() <= now.getTime()) {
      throw invalid(
        "certificates",
        `certificate #${index + 1} (${cert.subject.replaceAll("\n", ", ")}) expired on ${timestamp(cert.validToDate)}`,
      );
    }
  });
  const leaf = chain[0] as X509Certificate;
  if (input.ca && !leaf.ca) {
    throw invalid(
      "certificates",
      "certificate #1 is not a CA certificate (basicConstraints CA:TRUE is missing), but ca is true",
    );
  }
  let privateKeyPem: string | undefined;
  if (input.private_key !== undefined) {
    const key = parseOrFail("private_key", () => parsePrivateKey(input.private_key as string, "private_key"));
    if (!keyMatchesPublicKey(key, leaf.publicKey.export({ type: "spki", format: "der" }))) {
      throw invalid("private_key", "does not match the public key of certificate #1");
    }
    privateKeyPem = exportPrivateKeyPem(key);
  }
  const leafDer = Buffer.from(leaf.raw);
  const fields = certificateFields(leafDer, []);
  return {
    certificates: chain.map((cert) => encodePem("CERTIFICATE", cert.raw)).join(""),
    privateKeyPem,
    issuer: fields.issuerDn,
    serialNumber: decimalSerial(fields.serial),
    signature: signatureAlgorithmName((parsed[0] as (typeof parsed)[number]).signatureAlgorithm),
    expiresOn: timestamp(leaf.validToDate),
  };
}
