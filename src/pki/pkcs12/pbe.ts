/**
 * Password-based encryption of PKCS#12 bags and safes: PBES2 (RFC 8018) and the legacy
 * pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C). node:crypto does the cryptography: pkijs's engine
 * is WebCrypto, which has no 3DES.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { PkiError } from "../errors.ts";
import { OID, octetString, structure } from "./asn1.ts";
import { pkcs12Kdf } from "./kdf.ts";
import { checkReadIterations, type Protection, SALT_BYTES } from "./protection.ts";

const pbkdf2Async = promisify(pbkdf2);

/** PBKDF2 PRFs Portcullis reads: HMAC OIDs by node:crypto hash name. */
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

export interface Encrypted {
  algorithm: pkijs.AlgorithmIdentifier;
  ciphertext: Buffer;
}

/** A cipher with its key and IV, derived from the password. */
interface Keyed {
  cipher: string;
  key: Buffer;
  iv: Buffer;
}

/** Encrypts with PBES2/AES-256, or with 3DES when `protection.legacy`; a fresh salt (and IV) each time. */
export async function encrypt(plaintext: Buffer, protection: Protection): Promise<Encrypted> {
  const { cipher, key, iv, algorithm } = protection.legacy
    ? legacyScheme(protection)
    : await pbes2Scheme(protection);
  const encryptor = createCipheriv(cipher, key, iv);
  return { algorithm, ciphertext: Buffer.concat([encryptor.update(plaintext), encryptor.final()]) };
}

/** Decrypts a bag or safe encrypted with PBES2 or the legacy 3DES scheme; a bad password is a PkiError. */
export async function decrypt(
  algorithm: pkijs.AlgorithmIdentifier,
  ciphertext: Buffer,
  password: string,
): Promise<Buffer> {
  const { cipher, key, iv } = await keyedCipherFor(algorithm, password);
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new PkiError("E_INPUT", "wrong password or corrupt PKCS#12 (decryption failed)");
  }
}

/** PBES2: PBKDF2-HMAC-SHA256 over the UTF-8 password, then AES-256-CBC. */
async function pbes2Scheme({
  password,
  iterations,
}: Protection): Promise<Keyed & { algorithm: pkijs.AlgorithmIdentifier }> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(16);
  const params = new pkijs.PBES2Params({
    keyDerivationFunc: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.pbkdf2,
      algorithmParams: new pkijs.PBKDF2Params({
        salt: octetString(salt),
        iterationCount: iterations,
        prf: new pkijs.AlgorithmIdentifier({
          algorithmId: OID.hmacWithSha256,
          algorithmParams: new asn1js.Null(),
        }),
      }).toSchema(),
    }),
    encryptionScheme: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.aes256Cbc,
      algorithmParams: octetString(iv),
    }),
  });
  return {
    cipher: "aes-256-cbc",
    key: await pbkdf2Async(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256"),
    iv,
    algorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.pbes2, algorithmParams: params.toSchema() }),
  };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC: key and IV from the PKCS#12 KDF with SHA-1. */
function legacyScheme({
  password,
  iterations,
}: Protection): Keyed & { algorithm: pkijs.AlgorithmIdentifier } {
  const salt = randomBytes(8);
  const params = new asn1js.Sequence({
    value: [octetString(salt), new asn1js.Integer({ value: iterations })],
  });
  return {
    ...legacyKey(password, salt, iterations),
    algorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.pbeWithSha1And3DesCbc,
      algorithmParams: params,
    }),
  };
}

function legacyKey(password: string, salt: Uint8Array, iterations: number): Keyed {
  return {
    cipher: "des-ede3-cbc",
    key: pkcs12Kdf("sha1", password, salt, 1, iterations, 24),
    iv: pkcs12Kdf("sha1", password, salt, 2, iterations, 8),
  };
}

/** The cipher, key and IV an encrypted bag or safe names, derived from the password. */
async function keyedCipherFor(algorithm: pkijs.AlgorithmIdentifier, password: string): Promise<Keyed> {
  if (algorithm.algorithmId === OID.pbeWithSha1And3DesCbc) {
    const [salt, iterations] = structure("malformed PKCS#12 (3DES parameters)", () => {
      const [saltBlock, iterBlock] = (algorithm.algorithmParams as asn1js.Sequence).valueBlock.value;
      return [
        Buffer.from((saltBlock as asn1js.OctetString).getValue()),
        (iterBlock as asn1js.Integer).valueBlock.valueDec,
      ] as const;
    });
    checkReadIterations(iterations);
    return legacyKey(password, salt, iterations);
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
