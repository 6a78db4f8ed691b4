/**
 * Writes a PKCS#12 file in the layout OpenSSL 3 writes by default: the certificates in an encrypted safe,
 * the key in a shrouded key bag, the leaf and the key linked by localKeyId and named by friendlyName, and
 * a MAC over the whole.
 */
import { createHash, KeyObject } from "node:crypto";
import * as pkijs from "pkijs";
import { type Certificate, parseCertificates } from "../certificate.ts";
import { PkiError } from "../errors.ts";
import { describeKey, keyMatchesPublicKey, parsePrivateKey } from "../keys.ts";
import { x509 } from "../x509.ts";
import { dataContentInfo, der, OID, octetString } from "./asn1.ts";
import { bagAttributes } from "./attributes.ts";
import { createMacData } from "./mac.ts";
import { encrypt } from "./pbe.ts";
import { protection as checkedProtection } from "./protection.ts";

export interface Pkcs12Options {
  /** The leaf certificate; a PEM bundle's further certificates are added to the chain. */
  cert: Certificate | string | Buffer;
  /** The leaf's private key (PEM or DER: PKCS#1, SEC1 or PKCS#8). */
  key: KeyObject | string | Buffer;
  /** Issuer certificates to include after the leaf (each entry may be a PEM bundle). */
  chain?: readonly (Certificate | string | Buffer)[];
  /** May be empty, but must be given. */
  password: string;
  /** Shown by importers as the identity's name; defaults to the leaf's CN (or its whole subject). */
  friendlyName?: string;
  /** pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC, for importers that reject AES. */
  legacy?: boolean;
  /** PBKDF2 / PKCS#12 KDF iterations (default 2048). */
  iterations?: number;
}

/** Builds a password-protected PKCS#12 file holding the certificate, its chain and its key. */
export async function createPkcs12(options: Pkcs12Options): Promise<Buffer> {
  const [leaf, ...bundled] = toCertificates(options.cert, "cert");
  if (!leaf) throw new PkiError("E_CERT", "no certificate", { field: "cert" });
  const key = toPrivateKey(options.key);
  if (!keyMatchesPublicKey(key, leaf.publicKey.rawData)) {
    throw new PkiError("E_KEY", `the private key does not match the certificate (${leaf.subject})`, {
      field: "key",
    });
  }
  const chain = uniqueChain(leaf, [
    ...bundled,
    ...(options.chain ?? []).flatMap((c) => toCertificates(c, "chain")),
  ]);
  const protection = checkedProtection(options);

  const leafAttributes = bagAttributes(
    options.friendlyName || defaultFriendlyName(leaf),
    createHash("sha1").update(Buffer.from(leaf.rawData)).digest(),
  );
  const certBags = [leaf, ...chain].map(
    (cert, index) =>
      new pkijs.SafeBag({
        bagId: OID.certBag,
        bagValue: new pkijs.CertBag({
          certId: OID.x509Certificate,
          certValue: octetString(cert.rawData),
        }),
        ...(index === 0 ? { bagAttributes: leafAttributes } : {}),
      }),
  );
  const shrouded = await encrypt(key.export({ type: "pkcs8", format: "der" }), protection);
  const keyBag = new pkijs.SafeBag({
    bagId: OID.shroudedKeyBag,
    bagValue: new pkijs.PKCS8ShroudedKeyBag({
      encryptionAlgorithm: shrouded.algorithm,
      encryptedData: octetString(shrouded.ciphertext),
    }),
    bagAttributes: leafAttributes,
  });

  const certSafe = await encrypt(der(new pkijs.SafeContents({ safeBags: certBags })), protection);
  const authenticatedSafe = der(
    new pkijs.AuthenticatedSafe({
      safeContents: [
        new pkijs.ContentInfo({
          contentType: OID.encryptedData,
          content: new pkijs.EncryptedData({
            version: 0,
            encryptedContentInfo: new pkijs.EncryptedContentInfo({
              contentType: OID.data,
              contentEncryptionAlgorithm: certSafe.algorithm,
              encryptedContent: octetString(certSafe.ciphertext),
              disableSplit: true,
            }),
          }).toSchema(),
        }),
        dataContentInfo(der(new pkijs.SafeContents({ safeBags: [keyBag] }))),
      ],
    }),
  );
  const pfx = new pkijs.PFX({
    version: 3,
    authSafe: dataContentInfo(authenticatedSafe),
    macData: createMacData(authenticatedSafe, protection),
  });
  return der(pfx);
}

/** The chain without the leaf and without repeats (a fullchain.pem given with -ca is common). */
export function uniqueChain(leaf: Certificate, chain: readonly Certificate[]): Certificate[] {
  const seen = new Set([Buffer.from(leaf.rawData).toString("base64")]);
  return chain.filter((cert) => {
    const id = Buffer.from(cert.rawData).toString("base64");
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function toCertificates(value: Certificate | string | Buffer, field: string): Certificate[] {
  return value instanceof x509.X509Certificate ? [value] : parseCertificates(value, field);
}

function toPrivateKey(value: KeyObject | string | Buffer): KeyObject {
  const key = value instanceof KeyObject ? value : parsePrivateKey(value, "key");
  if (key.type !== "private") {
    throw new PkiError("E_KEY", `expected a private key, got a ${key.type} key`, { field: "key" });
  }
  describeKey(key, "key");
  return key;
}

function defaultFriendlyName(cert: Certificate): string {
  const cn = cert.subjectName.getField("CN")[0];
  return cn || cert.subject || "certificate";
}
