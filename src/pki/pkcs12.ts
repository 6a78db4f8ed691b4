/**
 * PKCS#12 (PFX) files: a client certificate, its chain and its private key in one password-protected
 * file that browsers, OS keychains, curl and `openssl pkcs12` import.
 *
 * The layout is the one OpenSSL 3 writes by default: an authenticated safe holding the certificates in an
 * encrypted safe and the key in a shrouded key bag, the leaf and the key linked by localKeyId and named by
 * friendlyName, and an HMAC over the whole. pkijs supplies the ASN.1 structures; the cryptography is
 * node:crypto, so the modern scheme (PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA256 MAC) and
 * the legacy one (pbeWithSHAAnd3-KeyTripleDES-CBC, HMAC-SHA1 MAC, for old macOS and Windows importers) share
 * one code path. pkijs's own engine is not used: it cannot do the legacy scheme.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  KeyObject,
  pbkdf2,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { type Certificate, parseCertificates } from "./certificate.ts";
import { PkiError } from "./errors.ts";
import { describeKey, keyMatchesPublicKey, parsePrivateKey } from "./keys.ts";
import { x509 } from "./x509.ts";

const pbkdf2Async = promisify(pbkdf2);

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  pbeWithSha1And3DesCbc: "1.2.840.113549.1.12.1.3",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

/** Digest OIDs (MAC) and HMAC OIDs (PBKDF2 PRF) by node:crypto hash name. */
const DIGESTS: Record<string, string> = {
  [OID.sha1]: "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  [OID.sha256]: "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};
const HMACS: Record<string, string> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.8": "sha224",
  [OID.hmacWithSha256]: "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};
/** PBES2 ciphers Portcullis reads, with their key lengths. */
const PBES2_CIPHERS: Record<string, { cipher: string; keyLength: number }> = {
  "2.16.840.1.101.3.4.1.2": { cipher: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { cipher: "aes-192-cbc", keyLength: 24 },
  [OID.aes256Cbc]: { cipher: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { cipher: "des-ede3-cbc", keyLength: 24 },
};
/** Names for PKCS#12 encryption schemes Portcullis does not read, for the error message. */
const UNSUPPORTED_SCHEMES: Record<string, string> = {
  "1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
  "1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
  "1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
  "1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
  "1.2.840.113549.1.12.1.6": "pbeWithSHAAnd40BitRC2-CBC",
};

/** OpenSSL 3's default; the legacy scheme keeps it as old importers expect. */
export const DEFAULT_ITERATIONS = 2048;
const MAX_ITERATIONS = 10_000_000;
const SALT_BYTES = 16;

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
  const protection: Protection = {
    password: checkPassword(options.password),
    legacy: options.legacy ?? false,
    iterations: checkIterations(options.iterations ?? DEFAULT_ITERATIONS),
  };

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
          certValue: new asn1js.OctetString({ valueHex: cert.rawData }),
        }),
        ...(index === 0 ? { bagAttributes: leafAttributes } : {}),
      }),
  );
  const shrouded = await encrypt(key.export({ type: "pkcs8", format: "der" }), protection);
  const keyBag = new pkijs.SafeBag({
    bagId: OID.shroudedKeyBag,
    bagValue: new pkijs.PKCS8ShroudedKeyBag({
      encryptionAlgorithm: shrouded.algorithm,
      encryptedData: new asn1js.OctetString({ valueHex: toArrayBuffer(shrouded.ciphertext) }),
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
              encryptedContent: new asn1js.OctetString({ valueHex: toArrayBuffer(certSafe.ciphertext) }),
              disableSplit: true,
            }),
          }).toSchema(),
        }),
        dataContentInfo(der(new pkijs.SafeContents({ safeBags: [keyBag] }))),
      ],
    }),
  );

  const macHash = protection.legacy ? "sha1" : "sha256";
  const macSalt = randomBytes(SALT_BYTES);
  const pfx = new pkijs.PFX({
    version: 3,
    authSafe: dataContentInfo(authenticatedSafe),
    macData: new pkijs.MacData({
      mac: new pkijs.DigestInfo({
        digestAlgorithm: new pkijs.AlgorithmIdentifier({
          algorithmId: protection.legacy ? OID.sha1 : OID.sha256,
          algorithmParams: new asn1js.Null(),
        }),
        digest: new asn1js.OctetString({
          valueHex: toArrayBuffer(
            pkcs12Mac(macHash, protection.password, macSalt, protection.iterations, authenticatedSafe),
          ),
        }),
      }),
      macSalt: new asn1js.OctetString({ valueHex: toArrayBuffer(macSalt) }),
      iterations: protection.iterations,
    }),
  });
  return der(pfx);
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

/**
 * RFC 7292 appendix B.2: derives `length` bytes of key (id 1), IV (id 2) or MAC key (id 3) from a password,
 * taken as a BMPString (UTF-16BE) with a two-byte zero terminator, as OpenSSL does.
 */
export function pkcs12Kdf(
  hash: string,
  password: string,
  salt: Uint8Array,
  id: 1 | 2 | 3,
  iterations: number,
  length: number,
): Buffer {
  const u = createHash(hash).digest().length;
  const v = u > 32 ? 128 : 64; // the hash's block size: SHA-384 and SHA-512 have 128-byte blocks
  const repeatToBlocks = (bytes: Uint8Array, size: number) =>
    Buffer.from(Array.from({ length: size }, (_, i) => bytes[i % bytes.length] as number));
  const bmpPassword = Buffer.from(`${password}\0`, "utf16le").swap16();
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([
    repeatToBlocks(salt, v * Math.ceil(salt.length / v)),
    repeatToBlocks(bmpPassword, v * Math.ceil(bmpPassword.length / v)),
  ]);
  const output: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash(hash).update(A).digest();
    output.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block I_j of I, with B = A repeated to v bytes.
    const B = repeatToBlocks(A, v);
    for (let block = 0; block < I.length; block += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[block + k] as number) + (B[k] as number) + carry;
        I[block + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}

// ---- encryption -------------------------------------------------------------------------------------

interface Protection {
  password: string;
  legacy: boolean;
  iterations: number;
}

interface Encrypted {
  algorithm: pkijs.AlgorithmIdentifier;
  ciphertext: Buffer;
}

function encrypt(plaintext: Buffer, protection: Protection): Promise<Encrypted> {
  return protection.legacy ? encryptLegacy(plaintext, protection) : encryptPbes2(plaintext, protection);
}

/** PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 over the UTF-8 password, then AES-256-CBC. */
async function encryptPbes2(plaintext: Buffer, { password, iterations }: Protection): Promise<Encrypted> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const params = new pkijs.PBES2Params({
    keyDerivationFunc: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.pbkdf2,
      algorithmParams: new pkijs.PBKDF2Params({
        salt: new asn1js.OctetString({ valueHex: toArrayBuffer(salt) }),
        iterationCount: iterations,
        prf: new pkijs.AlgorithmIdentifier({
          algorithmId: OID.hmacWithSha256,
          algorithmParams: new asn1js.Null(),
        }),
      }).toSchema(),
    }),
    encryptionScheme: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.aes256Cbc,
      algorithmParams: new asn1js.OctetString({ valueHex: toArrayBuffer(iv) }),
    }),
  });
  return {
    algorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.pbes2, algorithmParams: params.toSchema() }),
    ciphertext: Buffer.concat([cipher.update(plaintext), cipher.final()]),
  };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C): key and IV from the PKCS#12 KDF with SHA-1. */
async function encryptLegacy(plaintext: Buffer, { password, iterations }: Protection): Promise<Encrypted> {
  const salt = randomBytes(8);
  const cipher = createCipheriv(
    "des-ede3-cbc",
    pkcs12Kdf("sha1", password, salt, 1, iterations, 24),
    pkcs12Kdf("sha1", password, salt, 2, iterations, 8),
  );
  const params = new asn1js.Sequence({
    value: [
      new asn1js.OctetString({ valueHex: toArrayBuffer(salt) }),
      new asn1js.Integer({ value: iterations }),
    ],
  });
  return {
    algorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.pbeWithSha1And3DesCbc,
      algorithmParams: params,
    }),
    ciphertext: Buffer.concat([cipher.update(plaintext), cipher.final()]),
  };
}

/** Decrypts a bag or safe encrypted with PBES2 or the legacy 3DES scheme; a bad password is a PkiError. */
async function decrypt(
  algorithm: pkijs.AlgorithmIdentifier,
  ciphertext: Buffer,
  password: string,
): Promise<Buffer> {
  const { cipher, key, iv } = await cipherFor(algorithm, password);
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new PkiError("E_INPUT", "wrong password or corrupt PKCS#12 (decryption failed)");
  }
}

async function cipherFor(
  algorithm: pkijs.AlgorithmIdentifier,
  password: string,
): Promise<{ cipher: string; key: Buffer; iv: Buffer }> {
  if (algorithm.algorithmId === OID.pbeWithSha1And3DesCbc) {
    const [salt, iterations] = structure("malformed PKCS#12 (3DES parameters)", () => {
      const [saltBlock, iterBlock] = (algorithm.algorithmParams as asn1js.Sequence).valueBlock.value;
      return [
        Buffer.from((saltBlock as asn1js.OctetString).getValue()),
        (iterBlock as asn1js.Integer).valueBlock.valueDec,
      ] as const;
    });
    checkReadIterations(iterations);
    return {
      cipher: "des-ede3-cbc",
      key: pkcs12Kdf("sha1", password, salt, 1, iterations, 24),
      iv: pkcs12Kdf("sha1", password, salt, 2, iterations, 8),
    };
  }
  if (algorithm.algorithmId !== OID.pbes2) {
    const name = UNSUPPORTED_SCHEMES[algorithm.algorithmId] ?? algorithm.algorithmId;
    throw new PkiError(
      "E_INPUT",
      `unsupported PKCS#12 encryption ${name} (Portcullis reads PBES2 and pbeWithSHAAnd3-KeyTripleDES-CBC)`,
    );
  }
  const { kdf, scheme } = structure("malformed PKCS#12 (PBES2 parameters)", () => {
    const pbes2 = new pkijs.PBES2Params({ schema: algorithm.algorithmParams });
    return {
      kdf: { id: pbes2.keyDerivationFunc.algorithmId, params: pbes2.keyDerivationFunc.algorithmParams },
      scheme: pbes2.encryptionScheme,
    };
  });
  const cipher = PBES2_CIPHERS[scheme.algorithmId];
  if (kdf.id !== OID.pbkdf2 || !cipher) {
    throw new PkiError("E_INPUT", `unsupported PBES2 parameters (${kdf.id}, ${scheme.algorithmId})`);
  }
  const pbkdf2Params = structure("malformed PKCS#12 (PBKDF2 parameters)", () => {
    return new pkijs.PBKDF2Params({ schema: kdf.params });
  });
  const hash = pbkdf2Params.prf ? HMACS[pbkdf2Params.prf.algorithmId] : "sha1";
  if (!hash) throw new PkiError("E_INPUT", `unsupported PBKDF2 function ${pbkdf2Params.prf?.algorithmId}`);
  checkReadIterations(pbkdf2Params.iterationCount);
  const salt = Buffer.from((pbkdf2Params.salt as asn1js.OctetString).getValue());
  const key = await pbkdf2Async(
    Buffer.from(password, "utf8"),
    salt,
    pbkdf2Params.iterationCount,
    cipher.keyLength,
    hash,
  );
  const iv = Buffer.from((scheme.algorithmParams as asn1js.OctetString).getValue());
  return { cipher: cipher.cipher, key, iv };
}

// ---- MAC ---------------------------------------------------------------------------------------------

/** The PFX MAC: HMAC keyed by the PKCS#12 KDF (id 3), as RFC 7292 section 5 and OpenSSL compute it. */
function pkcs12Mac(
  hash: string,
  password: string,
  salt: Uint8Array,
  iterations: number,
  data: Buffer,
): Buffer {
  const key = pkcs12Kdf(hash, password, salt, 3, iterations, createHash(hash).digest().length);
  return createHmac(hash, key).update(data).digest();
}

function verifyMac(macData: pkijs.MacData, password: string, authenticatedSafe: Buffer): void {
  const hash = DIGESTS[macData.mac.digestAlgorithm.algorithmId];
  if (!hash) {
    throw new PkiError(
      "E_INPUT",
      `unsupported PKCS#12 MAC algorithm ${macData.mac.digestAlgorithm.algorithmId}`,
    );
  }
  const iterations = macData.iterations ?? 1;
  checkReadIterations(iterations);
  const expected = pkcs12Mac(
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

// ---- bags --------------------------------------------------------------------------------------------

interface BagAttributes {
  friendlyName?: string;
  localKeyId?: Buffer;
}

/** friendlyName and localKeyId, as a DER SET OF (sorted by encoding). */
function bagAttributes(friendlyName: string, localKeyId: Buffer): pkijs.Attribute[] {
  return [
    new pkijs.Attribute({ type: OID.friendlyName, values: [new asn1js.BmpString({ value: friendlyName })] }),
    new pkijs.Attribute({
      type: OID.localKeyId,
      values: [new asn1js.OctetString({ valueHex: toArrayBuffer(localKeyId) })],
    }),
  ].sort((a, b) => Buffer.compare(der(a), der(b)));
}

function readBagAttributes(bag: pkijs.SafeBag): BagAttributes {
  const attributes: BagAttributes = {};
  for (const attribute of bag.bagAttributes ?? []) {
    const value = attribute.values[0];
    if (attribute.type === OID.friendlyName && value instanceof asn1js.BmpString) {
      attributes.friendlyName = value.valueBlock.value;
    } else if (attribute.type === OID.localKeyId && value instanceof asn1js.OctetString) {
      attributes.localKeyId = Buffer.from(value.getValue());
    }
  }
  return attributes;
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

// ---- inputs ------------------------------------------------------------------------------------------

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

function defaultFriendlyName(cert: Certificate): string {
  const cn = cert.subjectName.getField("CN")[0];
  return cn || cert.subject || "certificate";
}

function checkPassword(password: unknown): string {
  if (typeof password !== "string") {
    throw new PkiError("E_FIELD", "a password is required (it may be empty)", { field: "password" });
  }
  if (password.includes("\0")) {
    throw new PkiError("E_FIELD", "the password must not contain a NUL character", { field: "password" });
  }
  return password;
}

function checkIterations(iterations: number): number {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new PkiError("E_FIELD", `must be a whole number from 1 to ${MAX_ITERATIONS}, got ${iterations}`, {
      field: "iterations",
    });
  }
  return iterations;
}

/** Iteration counts read from a file are bounded, so a hostile file cannot stall the reader. */
function checkReadIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new PkiError(
      "E_INPUT",
      `PKCS#12 iteration count ${iterations} is out of range (1 to ${MAX_ITERATIONS})`,
    );
  }
}

// ---- ASN.1 helpers -----------------------------------------------------------------------------------

function dataContentInfo(content: Buffer): pkijs.ContentInfo {
  return new pkijs.ContentInfo({
    contentType: OID.data,
    content: new asn1js.OctetString({ valueHex: toArrayBuffer(content) }),
  });
}

function der(value: { toSchema(): asn1js.BaseBlock }): Buffer {
  return Buffer.from(value.toSchema().toBER(false));
}

function toArrayBuffer(bytes: Uint8Array | ArrayBuffer): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Runs a pkijs/asn1js parse step; its exceptions become one PkiError naming what was malformed. */
function structure<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw new PkiError("E_INPUT", what);
  }
}
