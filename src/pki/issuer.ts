import type { KeyObject } from "node:crypto";
import { assertCanIssue, type Certificate, parseCertificates } from "./certificate.ts";
import { PkiError } from "./errors.ts";
import { keyMatchesPublicKey, parsePrivateKey, type SigningAlgorithm, toSigningKey } from "./keys.ts";

/** A CA ready to sign: its certificate (and any chain after it), its key, and the algorithm it signs with. */
export interface Issuer {
  cert: Certificate;
  /** Certificates that followed the CA certificate in its file (its own chain), if any. */
  chain: Certificate[];
  key: KeyObject;
  signingKey: CryptoKey;
  algorithm: SigningAlgorithm;
}

/**
 * Loads a CA from its certificate and private key (PEM or DER), checking that the key is the
 * certificate's and that the certificate is a CA allowed to sign for `purpose` (keyCertSign for
 * certificates, cRLSign for CRLs).
 */
export async function loadIssuer(
  certData: string | Buffer,
  keyData: string | Buffer,
  purpose: "certificates" | "crls" = "certificates",
): Promise<Issuer> {
  const [cert, ...chain] = parseCertificates(certData, "ca");
  if (!cert) throw new PkiError("E_CERT", "no CA certificate", { field: "ca" });
  const key = parsePrivateKey(keyData, "ca-key");
  if (!keyMatchesPublicKey(key, cert.publicKey.rawData)) {
    throw new PkiError("E_KEY", `the CA key does not match the CA certificate (${cert.subject})`, {
      field: "ca-key",
    });
  }
  assertCanIssue(cert, purpose, "ca");
  const { cryptoKey, algorithm } = await toSigningKey(key);
  return { cert, chain, key, signingKey: cryptoKey, algorithm };
}
