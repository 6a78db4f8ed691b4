import { createPublicKey, type KeyObject } from "node:crypto";
import { PkiError } from "./errors.ts";
import { parseHosts, parseHostsField, type SubjectAltName } from "./hosts.ts";
import { describeKey, type KeyRequest, parseKeyRequest, toPublicCryptoKey, toSigningKey } from "./keys.ts";
import { buildSubject, type NameEntry, parseNameEntries } from "./names.ts";
import { derBlocks, encodePem } from "./pem.ts";
import { x509 } from "./x509.ts";

/** cfssl's CSR JSON (`cfssl print-defaults csr`). */
export interface CsrRequest {
  CN: string;
  hosts: string[];
  key: KeyRequest;
  names: NameEntry[];
  /** Present for CAs: `gencert -initca` reads pathlen and expiry from it. */
  ca?: CaOptions;
  /** Subject serialNumber attribute (not the certificate's serial). */
  serialnumber?: string;
  /** CRL distribution point written into a CA made by `-initca`. */
  crl_url?: string;
}

export interface CaOptions {
  pathlen: number;
  pathlenzero: boolean;
  /** Go duration; `gencert -initca` default is 43800h (5 years). */
  expiry?: string;
}

// Keys cfssl accepts that Portcullis reads or tolerates; anything else is probably a typo.
const CSR_KEYS = new Set([
  "CN",
  "hosts",
  "key",
  "names",
  "ca",
  "serialnumber",
  "crl_url",
  "delegation_enabled",
]);

/** Validates a parsed CSR JSON document, naming the field at fault. */
export function parseCsrRequest(json: unknown): CsrRequest {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new PkiError("E_FIELD", 'a CSR request must be a JSON object like {"CN": "…", "key": {…}}');
  }
  const doc = json as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!CSR_KEYS.has(key)) {
      throw new PkiError("E_FIELD", `unknown field (known: ${[...CSR_KEYS].join(", ")})`, { field: key });
    }
  }
  const request: CsrRequest = {
    CN: optionalString(doc.CN, "CN") ?? "",
    hosts: parseHostsField(doc.hosts),
    key: parseKeyRequest(doc.key),
    names: parseNameEntries(doc.names),
  };
  parseHosts(request.hosts); // reject bad hosts early, with their position
  const serial = optionalString(doc.serialnumber, "serialnumber");
  if (serial) request.serialnumber = serial;
  const crlUrl = optionalString(doc.crl_url, "crl_url");
  if (crlUrl) request.crl_url = crlUrl;
  if (doc.ca !== undefined && doc.ca !== null) request.ca = parseCaOptions(doc.ca);
  if (!request.CN && request.names.length === 0 && request.hosts.every((h) => h.trim() === "")) {
    throw new PkiError("E_FIELD", "the request names nobody: set CN, names or hosts", { field: "CN" });
  }
  return request;
}

function parseCaOptions(value: unknown): CaOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PkiError("E_FIELD", 'must be an object like {"pathlen": 1, "expiry": "43800h"}', {
      field: "ca",
    });
  }
  const { pathlen = 0, pathlenzero = false, expiry } = value as Record<string, unknown>;
  if (typeof pathlen !== "number" || !Number.isInteger(pathlen) || pathlen < 0) {
    throw new PkiError("E_FIELD", "must be a whole number ≥ 0", { field: "ca.pathlen" });
  }
  if (typeof pathlenzero !== "boolean")
    throw new PkiError("E_FIELD", "must be true or false", { field: "ca.pathlenzero" });
  const options: CaOptions = { pathlen, pathlenzero };
  const expiryText = optionalString(expiry, "ca.expiry");
  if (expiryText) options.expiry = expiryText;
  return options;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new PkiError("E_FIELD", "must be a string", { field });
  return value;
}

/** basicConstraints as Go writes it: pathlen only when > 0, or when 0 is explicitly wanted. */
export function caBasicConstraints(pathlen: number, pathlenzero: boolean): x509.BasicConstraintsExtension {
  const limit = pathlen > 0 || pathlenzero ? pathlen : undefined;
  return new x509.BasicConstraintsExtension(true, limit, true);
}

export function subjectAltNameExtension(
  sans: readonly SubjectAltName[],
): x509.SubjectAlternativeNameExtension {
  const TYPE = {
    dns: "dns",
    ip: "ip",
    email: "email",
    uri: "url",
    upn: "upn",
    registeredId: "id",
    dirName: "dn",
  } as const;
  return new x509.SubjectAlternativeNameExtension(
    sans.map((san) => ({ type: TYPE[san.type], value: san.value })),
  );
}

/** Builds and signs a PKCS#10 CSR for `key` from a cfssl CSR request. */
export async function generateCsr(
  request: CsrRequest,
  key: KeyObject,
): Promise<x509.Pkcs10CertificateRequest> {
  const { cryptoKey, algorithm } = await toSigningKey(key);
  const extensions: x509.Extension[] = [];
  const sans = parseHosts(request.hosts);
  if (sans.length > 0) extensions.push(subjectAltNameExtension(sans));
  if (request.ca) extensions.push(caBasicConstraints(request.ca.pathlen, request.ca.pathlenzero));
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: buildSubject(request.CN, request.names, request.serialnumber),
    keys: { privateKey: cryptoKey, publicKey: toPublicCryptoKey(key) },
    signingAlgorithm: algorithm.signParams,
    extensions,
  });
}

export function csrToPem(csr: x509.Pkcs10CertificateRequest): string {
  return encodePem("CERTIFICATE REQUEST", csr.rawData);
}

/**
 * Reads a PEM or DER CSR and checks its self-signature and key, so a tampered or weak request is
 * refused before anything is signed.
 */
export async function parseCsr(data: string | Buffer, field = "csr"): Promise<x509.Pkcs10CertificateRequest> {
  const der = derBlocks(
    data,
    ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
    "certificate request",
    field,
  )[0];
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der as Buffer<ArrayBuffer>);
  } catch {
    throw new PkiError("E_CSR", "not a valid PKCS#10 certificate request", { field });
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid)
    throw new PkiError("E_CSR", "the CSR's signature does not verify (corrupt or tampered)", { field });
  const { algo, size } = describeKey(publicKeyOf(csr), field);
  if (algo === "rsa" && size < 2048) {
    throw new PkiError("E_KEY", `the CSR's RSA key has ${size} bits; at least 2048 are required`, { field });
  }
  return csr;
}

/** The public key of a CSR or certificate as a Node KeyObject. */
export function publicKeyOf(item: { publicKey: x509.PublicKey }): KeyObject {
  return createPublicKey({ key: Buffer.from(item.publicKey.rawData), format: "der", type: "spki" });
}
