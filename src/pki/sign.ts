import { type KeyObject, randomBytes } from "node:crypto";
import type { Certificate } from "./certificate.ts";
import {
  type CsrRequest,
  caBasicConstraints,
  csrToPem,
  generateCsr,
  publicKeyOf,
  subjectAltNameExtension,
} from "./csr.ts";
import { PkiError } from "./errors.ts";
import { parseHosts, type SubjectAltName } from "./hosts.ts";
import type { Issuer } from "./issuer.ts";
import { exportPrivateKeyPem, generatePrivateKey, spkiDer, toSigningKey } from "./keys.ts";
import { rootCaProfile, type SigningProfile } from "./profile.ts";
import { x509 } from "./x509.ts";

export interface SignOptions {
  /** Replaces the CSR's subjectAltNames (cfssl `-hostname`, or `hosts` in gencert). */
  sans?: SubjectAltName[];
  /** For tests and reproducible output; default: now. */
  now?: Date;
}

const OID_SAN = "2.5.29.17";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";

/**
 * Signs a CSR (already checked by parseCsr) with a CA under a cfssl profile. Subject and key come from
 * the CSR; everything else (validity, usages, CA-ness, URLs) from the profile, as in cfssl.
 */
export async function signCsr(
  csr: x509.Pkcs10CertificateRequest,
  issuer: Issuer,
  profile: SigningProfile,
  options: SignOptions = {},
): Promise<Certificate> {
  const pathLimit = issuer.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength;
  if (profile.caConstraint?.isCa && pathLimit === 0) {
    throw new PkiError(
      "E_PROFILE",
      `the CA ${issuer.cert.subject} has pathlen 0 and cannot issue CA certificates`,
      {
        field: "profile",
      },
    );
  }
  return buildCertificate({
    csr,
    profile,
    issuerName: issuer.cert.subjectName,
    authorityKeyId: await subjectKeyIdOf(issuer.cert),
    signingKey: issuer.signingKey,
    signParams: issuer.algorithm.signParams,
    parentPathLimit: pathLimit,
    options,
  });
}

/** Self-signs a CSR with its own key (a root CA). */
export async function selfSignCsr(
  csr: x509.Pkcs10CertificateRequest,
  key: KeyObject,
  profile: SigningProfile,
  options: SignOptions = {},
): Promise<Certificate> {
  const { cryptoKey, algorithm } = await toSigningKey(key);
  return buildCertificate({
    csr,
    profile,
    issuerName: csr.subjectName,
    authorityKeyId: undefined, // a root names no authority (as Go and cfssl write it)
    signingKey: cryptoKey,
    signParams: algorithm.signParams,
    parentPathLimit: undefined,
    options,
  });
}

export interface NewCertificate {
  cert: string;
  csr: string;
  /** PEM private key, present when it was generated here. */
  key?: string;
}

/**
 * `cfssl gencert -initca`: a new (or, given `key`, re-generated) self-signed root CA from a CSR request.
 */
export async function initCa(
  request: CsrRequest,
  key?: KeyObject,
  options: SignOptions = {},
): Promise<NewCertificate> {
  const privateKey = key ?? (await generatePrivateKey(request.key));
  const csr = await generateCsr(
    { ...request, ca: request.ca ?? { pathlen: 0, pathlenzero: false } },
    privateKey,
  );
  const profile = rootCaProfile({
    ...(request.ca?.expiry ? { expiry: request.ca.expiry } : {}),
    pathlen: request.ca?.pathlen ?? 0,
    pathlenzero: request.ca?.pathlenzero ?? false,
    ...(request.crl_url ? { crlUrl: request.crl_url } : {}),
  });
  const cert = await selfSignCsr(csr, privateKey, profile, options);
  return {
    cert: cert.toString("pem"),
    csr: csrToPem(csr),
    ...(key ? {} : { key: exportPrivateKeyPem(privateKey) }),
  };
}

/** `cfssl gencert -ca`: a new key and CSR from a CSR request, signed by the CA. */
export async function generateCertificate(
  request: CsrRequest,
  issuer: Issuer,
  profile: SigningProfile,
  options: SignOptions = {},
): Promise<Required<NewCertificate>> {
  const privateKey = await generatePrivateKey(request.key);
  const csr = await generateCsr(request, privateKey);
  const sans = options.sans ?? parseHosts(request.hosts);
  const cert = await signCsr(csr, issuer, profile, { ...options, sans });
  return { cert: cert.toString("pem"), csr: csrToPem(csr), key: exportPrivateKeyPem(privateKey) };
}

interface BuildParams {
  csr: x509.Pkcs10CertificateRequest;
  profile: SigningProfile;
  issuerName: x509.Name;
  authorityKeyId: string | undefined;
  signingKey: CryptoKey;
  signParams: Algorithm;
  parentPathLimit: number | undefined;
  options: SignOptions;
}

async function buildCertificate(p: BuildParams): Promise<Certificate> {
  const { notBefore, notAfter } = validity(p.profile, p.options.now ?? new Date());
  const extensions: x509.Extension[] = [];
  if (p.profile.keyUsage) extensions.push(new x509.KeyUsagesExtension(p.profile.keyUsage, true));
  if (p.profile.extKeyUsages.length)
    extensions.push(new x509.ExtendedKeyUsageExtension(p.profile.extKeyUsages));
  extensions.push(basicConstraints(p.profile, p.parentPathLimit));
  extensions.push(new x509.SubjectKeyIdentifierExtension(await keyIdentifier(publicKeyOf(p.csr))));
  if (p.authorityKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId));
  if (p.profile.ocspUrl || p.profile.issuerUrls.length) {
    extensions.push(
      new x509.AuthorityInfoAccessExtension({
        ...(p.profile.ocspUrl ? { ocsp: [p.profile.ocspUrl] } : {}),
        ...(p.profile.issuerUrls.length ? { caIssuers: p.profile.issuerUrls } : {}),
      }),
    );
  }
  const sans = p.options.sans ?? [];
  const csrSan = p.csr.extensions.find((e) => e.type === OID_SAN);
  if (p.options.sans) {
    if (sans.length) extensions.push(subjectAltNameExtension(sans));
  } else if (csrSan) {
    extensions.push(new x509.SubjectAlternativeNameExtension(csrSan.rawData));
  }
  if (p.profile.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([p.profile.crlUrl]));
  if (p.profile.copyExtensions) {
    const have = new Set(extensions.map((e) => e.type));
    for (const ext of p.csr.extensions) {
      if (!have.has(ext.type) && ext.type !== OID_SAN && ext.type !== OID_BASIC_CONSTRAINTS) {
        extensions.push(new x509.Extension(ext.rawData));
      }
    }
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: p.csr.subjectName,
    issuer: p.issuerName,
    notBefore,
    notAfter,
    publicKey: p.csr.publicKey,
    signingKey: p.signingKey,
    signingAlgorithm: p.signParams,
    extensions,
  });
}

/** cfssl's validity: notBefore is now rounded to the minute minus the backdate; notAfter adds the expiry. */
function validity(profile: SigningProfile, now: Date): { notBefore: Date; notAfter: Date } {
  const roundedNow = Math.round(now.getTime() / 60_000) * 60_000;
  const notBefore = profile.notBefore ?? new Date(roundedNow - profile.backdateMs);
  const notAfter = profile.notAfter ?? new Date(notBefore.getTime() + profile.expiryMs);
  if (notAfter <= notBefore) {
    throw new PkiError("E_PROFILE", "not_after must be later than not_before", { field: "not_after" });
  }
  return { notBefore, notAfter };
}

function basicConstraints(
  profile: SigningProfile,
  parentPathLimit: number | undefined,
): x509.BasicConstraintsExtension {
  const ca = profile.caConstraint;
  if (!ca?.isCa) return new x509.BasicConstraintsExtension(false, undefined, true);
  let pathlen = ca.maxPathLen;
  let pathlenzero = ca.maxPathLenZero;
  // An intermediate may not allow longer paths below it than its issuer allows.
  if (
    parentPathLimit !== undefined &&
    (pathlen === -1 || (pathlen === 0 && !pathlenzero) || pathlen >= parentPathLimit)
  ) {
    pathlen = parentPathLimit - 1;
    pathlenzero = pathlen === 0;
  }
  return caBasicConstraints(Math.max(pathlen, 0), pathlenzero);
}

/** Method 1 of RFC 5280 §4.2.1.2 (as Go and cfssl): SHA-1 of the subjectPublicKey bits. */
export async function keyIdentifier(publicKey: KeyObject): Promise<string> {
  return Buffer.from(await new x509.PublicKey(spkiDer(publicKey)).getKeyIdentifier()).toString("hex");
}

/** The certificate's subjectKeyIdentifier, or one computed from its key when it has none. */
export async function subjectKeyIdOf(cert: Certificate): Promise<string> {
  return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(publicKeyOf(cert));
}

/** A random positive 159-bit serial (20 octets, high bit clear, no leading zero), as cfssl makes. */
export function randomSerialHex(): string {
  const bytes = randomBytes(20);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString("hex");
}
