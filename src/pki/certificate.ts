import { PkiError } from "./errors.ts";
import { derBlocks } from "./pem.ts";
import { x509 } from "./x509.ts";

export type Certificate = x509.X509Certificate;

/** Parses every certificate in a PEM bundle (or one DER certificate), in order. */
export function parseCertificates(data: string | Buffer, field = "cert"): Certificate[] {
  return derBlocks(data, ["CERTIFICATE", "TRUSTED CERTIFICATE"], "certificate", field).map((der, index) => {
    try {
      return new x509.X509Certificate(der);
    } catch {
      throw new PkiError("E_CERT", `certificate #${index + 1} is not a valid X.509 certificate`, { field });
    }
  });
}

/** Parses exactly one certificate (the first of a bundle is taken as the certificate; the rest are its chain). */
export function parseCertificate(data: string | Buffer, field = "cert"): Certificate {
  return parseCertificates(data, field)[0] as Certificate;
}

/**
 * Throws unless the certificate is a CA (basicConstraints CA:TRUE) whose keyUsage, when present, allows
 * what it is about to sign: certificates (keyCertSign) or CRLs (cRLSign). Verifiers reject anything
 * else, so refusing here spares the user a certificate or CRL that nobody accepts.
 */
export function assertCanIssue(cert: Certificate, purpose: "certificates" | "crls", field = "ca"): void {
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) {
    const detail = `${cert.subject} is not a CA certificate (basicConstraints CA:TRUE is missing)`;
    throw new PkiError("E_CERT", detail, { field });
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  const needed = purpose === "certificates" ? x509.KeyUsageFlags.keyCertSign : x509.KeyUsageFlags.cRLSign;
  if (usage && !(usage.usages & needed)) {
    const [what, flag] = purpose === "certificates" ? ["certificates", "keyCertSign"] : ["CRLs", "cRLSign"];
    throw new PkiError("E_CERT", `${cert.subject} may not sign ${what} (keyUsage lacks ${flag})`, { field });
  }
}
