/**
 * The PFX MAC (RFC 7292 section 5): an HMAC over the authenticated safe, keyed by the PKCS#12 KDF (id 3)
 * as OpenSSL computes it. HMAC-SHA256 by default, HMAC-SHA1 for the legacy scheme.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { PkiError } from "../errors.ts";
import { OID, octetString } from "./asn1.ts";
import { pkcs12Kdf } from "./kdf.ts";
import { checkReadIterations, type Protection, SALT_BYTES } from "./protection.ts";

/** MAC digests Portcullis reads: digest OIDs by node:crypto hash name. */
const DIGESTS: Record<string, string> = {
  [OID.sha1]: "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  [OID.sha256]: "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** The MacData for `authenticatedSafe`, with a fresh salt. */
export function createMacData(authenticatedSafe: Buffer, protection: Protection): pkijs.MacData {
  const [hash, digestOid] = protection.legacy ? ["sha1", OID.sha1] : ["sha256", OID.sha256];
  const salt = randomBytes(SALT_BYTES);
  return new pkijs.MacData({
    mac: new pkijs.DigestInfo({
      digestAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: digestOid,
        algorithmParams: new asn1js.Null(),
      }),
      digest: octetString(mac(hash, protection.password, salt, protection.iterations, authenticatedSafe)),
    }),
    macSalt: octetString(salt),
    iterations: protection.iterations,
  });
}

/** Throws unless the MAC checks out: a wrong password and a corrupt file look the same here. */
export function verifyMac(macData: pkijs.MacData, password: string, authenticatedSafe: Buffer): void {
  const hash = DIGESTS[macData.mac.digestAlgorithm.algorithmId];
  if (!hash) {
    throw new PkiError(
      "E_INPUT",
      `unsupported PKCS#12 MAC algorithm ${macData.mac.digestAlgorithm.algorithmId}`,
    );
  }
  const iterations = macData.iterations ?? 1;
  checkReadIterations(iterations);
  const expected = mac(
    hash,
    password,
    Buffer.from(macData.macSalt.getValue()),
    iterations,
    authenticatedSafe,
  );
  const actual = Buffer.from(macData.mac.digest.getValue());
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new PkiError("E_INPUT", "wrong password or corrupt PKCS#12 (MAC check failed)");
  }
}

function mac(hash: string, password: string, salt: Uint8Array, iterations: number, data: Buffer): Buffer {
  const key = pkcs12Kdf(hash, password, salt, 3, iterations, createHash(hash).digest().length);
  return createHmac(hash, key).update(data).digest();
}
