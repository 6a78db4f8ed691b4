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

/** True if the certificate says it is a CA (basicConstraints CA:TRUE) and may sign (keyCertSign when keyUsage is present). */
export function assertCanIssue(cert: Certificate, field = "ca"): void {
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) {
    throw new PkiError(
      "E_CERT",
      `${cert.subject} is not a CA certificate (basicConstraints CA:TRUE is missing)`,
      {
        field,
      },
    );
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (usage && !(usage.usages & x509.KeyUsageFlags.keyCertSign)) {
    throw new PkiError("E_CERT", `${cert.subject} may not sign certificates (keyUsage lacks keyCertSign)`, {
      field,
    });
  }
}
