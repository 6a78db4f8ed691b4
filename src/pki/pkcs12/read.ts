/**
 * Reads a PKCS#12 file: checks its MAC, decrypts its bags and finds the key and the certificate it
 * belongs to. Reads what OpenSSL, browsers and OS keychains export (PBES2, the legacy 3DES scheme, or no
 * encryption), not only what build.ts writes.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import type * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import type { Certificate } from "../certificate.ts";
import { PkiError } from "../errors.ts";
import { keyMatchesPublicKey } from "../keys.ts";
import { x509 } from "../x509.ts";
import { der, OID, structure, toArrayBuffer } from "./asn1.ts";
import { type BagAttributes, readBagAttributes } from "./attributes.ts";
import { verifyMac } from "./mac.ts";
import { decrypt } from "./pbe.ts";

export interface Pkcs12Contents {
  /** The certificate the private key belongs to. */
  cert: Certificate;
  /** The private key as PKCS#8 PEM. */
  key: string;
  /** The other certificates, in file order. */
  chain: Certificate[];
  /** The key's (or else the leaf's) friendlyName, if it has one. */
  friendlyName: string | undefined;
}

/**
 * Reads a PKCS#12 file: checks its MAC, decrypts its bags (PBES2, or the legacy 3DES scheme) and returns
 * the key, the certificate it belongs to and the other certificates.
 */
export async function readPkcs12(data: Buffer | Uint8Array, password: string): Promise<Pkcs12Contents> {
  const pfx = structure("not a PKCS#12 file", () => pkijs.PFX.fromBER(toArrayBuffer(data)));
  if (pfx.authSafe.contentType !== OID.data) {
    throw new PkiError(
      "E_INPUT",
      "PKCS#12 files protected by a signature instead of a password are not supported",
    );
  }
  const authenticatedSafe = structure("malformed PKCS#12", () =>
    Buffer.from((pfx.authSafe.content as asn1js.OctetString).getValue()),
  );
  if (pfx.macData) verifyMac(pfx.macData, password, authenticatedSafe);

  const bags: pkijs.SafeBag[] = [];
  const safes = structure(
    "malformed PKCS#12 (authenticated safe)",
    () => pkijs.AuthenticatedSafe.fromBER(toArrayBuffer(authenticatedSafe)).safeContents,
  );
  for (const safe of safes) bags.push(...(await safeBags(safe, password)));

  const keys: { der: Buffer; attributes: BagAttributes }[] = [];
  const certs: { der: Buffer; attributes: BagAttributes }[] = [];
  for (const bag of flattenBags(bags)) {
    const attributes = readBagAttributes(bag);
    if (bag.bagId === OID.shroudedKeyBag) {
      const shrouded = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
      keys.push({
        der: await decrypt(
          shrouded.encryptionAlgorithm,
          Buffer.from(shrouded.encryptedData.getValue()),
          password,
        ),
        attributes,
      });
    } else if (bag.bagId === OID.keyBag) {
      keys.push({ der: der(bag.bagValue as pkijs.PrivateKeyInfo), attributes });
    } else if (bag.bagId === OID.certBag) {
      const certBag = bag.bagValue as pkijs.CertBag;
      if (certBag.certId !== OID.x509Certificate) continue;
      certs.push({ der: Buffer.from((certBag.certValue as asn1js.OctetString).getValue()), attributes });
    }
  }

  if (keys.length !== 1) {
    throw new PkiError("E_KEY", `the PKCS#12 file holds ${keys.length} private keys; expected exactly one`);
  }
  const keyEntry = keys[0] as (typeof keys)[number];
  const key = pkcs8Key(keyEntry.der);
  const parsed = certs.map((c, index) => ({
    cert: structure(`certificate #${index + 1} in the PKCS#12 file is not valid`, () => {
      return new x509.X509Certificate(toArrayBuffer(c.der));
    }),
    attributes: c.attributes,
  }));
  const leafIndex = findLeaf(key, keyEntry.attributes, parsed);
  const leaf = parsed[leafIndex] as (typeof parsed)[number];
  return {
    cert: leaf.cert,
    key: key.export({ type: "pkcs8", format: "pem" }) as string,
    chain: parsed.filter((_, i) => i !== leafIndex).map((c) => c.cert),
    friendlyName: keyEntry.attributes.friendlyName ?? leaf.attributes.friendlyName,
  };
}

/** The bags of one safe of the authenticated safe, decrypting it if it is encrypted. */
async function safeBags(safe: pkijs.ContentInfo, password: string): Promise<pkijs.SafeBag[]> {
  let content: Buffer;
  if (safe.contentType === OID.data) {
    content = structure("malformed PKCS#12 (safe)", () =>
      Buffer.from((safe.content as asn1js.OctetString).getValue()),
    );
  } else if (safe.contentType === OID.encryptedData) {
    const info = structure(
      "malformed PKCS#12 (encrypted safe)",
      () => new pkijs.EncryptedData({ schema: safe.content }).encryptedContentInfo,
    );
    content = await decrypt(
      info.contentEncryptionAlgorithm,
      Buffer.from(info.getEncryptedContent()),
      password,
    );
  } else {
    throw new PkiError("E_INPUT", "PKCS#12 safes encrypted to a public key are not supported");
  }
  return structure(
    "malformed PKCS#12 (safe contents)",
    () => pkijs.SafeContents.fromBER(toArrayBuffer(content)).safeBags,
  );
}

/** The bags, with those nested in safeContents bags brought up to the top level. */
function flattenBags(bags: readonly pkijs.SafeBag[]): pkijs.SafeBag[] {
  return bags.flatMap((bag) =>
    bag.bagId === OID.safeContentsBag ? flattenBags((bag.bagValue as pkijs.SafeContents).safeBags) : [bag],
  );
}

function pkcs8Key(pkcs8: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  } catch {
    throw new PkiError("E_KEY", "the private key in the PKCS#12 file is not readable");
  }
}

/** The certificate the key belongs to: the one with the key's localKeyId, else the one with its public key. */
function findLeaf(
  key: KeyObject,
  keyAttributes: BagAttributes,
  certs: readonly { cert: Certificate; attributes: BagAttributes }[],
): number {
  const byId = keyAttributes.localKeyId
    ? certs.findIndex((c) => c.attributes.localKeyId?.equals(keyAttributes.localKeyId as Buffer))
    : -1;
  const index =
    byId !== -1 ? byId : certs.findIndex((c) => keyMatchesPublicKey(key, c.cert.publicKey.rawData));
  if (index === -1) throw new PkiError("E_CERT", "the PKCS#12 file holds no certificate for its private key");
  return index;
}
