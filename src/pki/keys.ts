import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { PkiError } from "./errors.ts";

const generateKeyPairAsync = promisify(generateKeyPair);

/** cfssl's `key` object: `{ "algo": "rsa" | "ecdsa" | "ed25519", "size": N }`. */
export interface KeyRequest {
  algo: "rsa" | "ecdsa" | "ed25519";
  size: number;
}

export const DEFAULT_KEY_REQUEST: KeyRequest = { algo: "ecdsa", size: 256 };

const EC_CURVES: Record<number, string> = { 256: "P-256", 384: "P-384", 521: "P-521" };
const CURVE_SIZES: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 8192;

/** Validates a cfssl key request (missing → ECDSA P-256; RSA without size → 2048). */
export function parseKeyRequest(value: unknown, field = "key"): KeyRequest {
  if (value === undefined || value === null) return { ...DEFAULT_KEY_REQUEST };
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new PkiError("E_FIELD", 'must be an object like {"algo": "ecdsa", "size": 256}', { field });
  }
  const { algo = "ecdsa", size } = value as { algo?: unknown; size?: unknown };
  if (algo !== "rsa" && algo !== "ecdsa" && algo !== "ed25519") {
    throw new PkiError("E_KEY", `unknown key algorithm ${JSON.stringify(algo)} (use rsa, ecdsa or ed25519)`, {
      field: `${field}.algo`,
    });
  }
  if (size !== undefined && (typeof size !== "number" || !Number.isInteger(size))) {
    throw new PkiError("E_KEY", `key size must be a whole number, got ${JSON.stringify(size)}`, {
      field: `${field}.size`,
    });
  }
  if (algo === "ed25519") return { algo, size: 0 };
  if (algo === "ecdsa") {
    const bits = size ?? 256;
    if (!EC_CURVES[bits]) {
      throw new PkiError("E_KEY", `invalid ecdsa key size ${bits} (use 256, 384 or 521)`, {
        field: `${field}.size`,
      });
    }
    return { algo, size: bits };
  }
  const bits = size ?? 2048;
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw new PkiError(
      "E_KEY",
      `invalid rsa key size ${bits} (use ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits)`,
      {
        field: `${field}.size`,
      },
    );
  }
  return { algo, size: bits };
}

/** Generates a private key as requested. */
export async function generatePrivateKey(request: KeyRequest): Promise<KeyObject> {
  switch (request.algo) {
    case "rsa":
      return (await generateKeyPairAsync("rsa", { modulusLength: request.size, publicExponent: 65537 }))
        .privateKey;
    case "ecdsa":
      return (await generateKeyPairAsync("ec", { namedCurve: EC_CURVES[request.size] as string })).privateKey;
    case "ed25519":
      return (await generateKeyPairAsync("ed25519")).privateKey;
  }
}

/** PEM in the form cfssl writes: PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519. */
export function exportPrivateKeyPem(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return key.export({ type: "pkcs1", format: "pem" }) as string;
    case "ec":
      return key.export({ type: "sec1", format: "pem" }) as string;
    default:
      return key.export({ type: "pkcs8", format: "pem" }) as string;
  }
}

/** Reads a PEM or DER private key (PKCS#1, SEC1 or PKCS#8). Encrypted keys are refused. */
export function parsePrivateKey(data: string | Buffer, field = "key"): KeyObject {
  const text = typeof data === "string" ? data : data.toString("latin1");
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new PkiError(
      "E_KEY",
      "the private key is encrypted; decrypt it first (openssl pkey -in KEY -out KEY)",
      {
        field,
      },
    );
  }
  let key: KeyObject;
  try {
    key = text.includes("-----BEGIN")
      ? createPrivateKey({ key: text, format: "pem" })
      : createPrivateKey({ key: Buffer.from(data as Buffer), format: "der", type: "pkcs8" });
  } catch {
    throw new PkiError("E_KEY", "not a readable private key (expected PEM or DER: PKCS#1, SEC1 or PKCS#8)", {
      field,
    });
  }
  describeKey(key, field);
  return key;
}

export interface KeyDescription {
  algo: KeyRequest["algo"];
  /** Bits for RSA, curve size for ECDSA, 0 for Ed25519. */
  size: number;
}

/** What kind of key this is; throws for kinds Portcullis does not sign with (DSA, Ed448, X25519…). */
export function describeKey(key: KeyObject, field = "key"): KeyDescription {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
      return { algo: "rsa", size: details.modulusLength ?? 0 };
    case "ec": {
      const size = CURVE_SIZES[details.namedCurve ?? ""];
      if (!size) throw new PkiError("E_KEY", `unsupported elliptic curve ${details.namedCurve}`, { field });
      return { algo: "ecdsa", size };
    }
    case "ed25519":
      return { algo: "ed25519", size: 0 };
    default:
      throw new PkiError("E_KEY", `unsupported key type ${key.asymmetricKeyType}`, { field });
  }
}

/** `rsa-4096`, `ecdsa-256`, `ed25519`: how cfssl names a key in its logs. */
export function keyLabel(key: KeyObject): string {
  const { algo, size } = describeKey(key);
  return size ? `${algo}-${size}` : algo;
}

/** A signing algorithm, in WebCrypto terms and by the name cfssl prints (`SHA256WithRSA`…). */
export interface SigningAlgorithm {
  /** Passed to WebCrypto importKey. */
  importParams: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  /** Passed to WebCrypto sign (and to @peculiar/x509 as `signingAlgorithm`). */
  signParams: Algorithm & { hash?: string; namedCurve?: string };
  /** cfssl/Go name. */
  name: string;
}

/**
 * cfssl's default signature algorithm for a key (Go's signer.DefaultSigAlgo): RSA ≥4096 bits → SHA-512,
 * ≥3072 → SHA-384, else SHA-256; ECDSA by curve; Ed25519 pure.
 */
export function signingAlgorithmFor(key: KeyObject): SigningAlgorithm {
  const { algo, size } = describeKey(key);
  if (algo === "rsa") {
    const bits = size >= 4096 ? 512 : size >= 3072 ? 384 : 256;
    const hash = `SHA-${bits}`;
    return {
      importParams: { name: "RSASSA-PKCS1-v1_5", hash },
      signParams: { name: "RSASSA-PKCS1-v1_5", hash },
      name: `SHA${bits}WithRSA`,
    };
  }
  if (algo === "ecdsa") {
    const namedCurve = EC_CURVES[size] as string;
    const hash = `SHA-${size === 521 ? 512 : size}`;
    return {
      importParams: { name: "ECDSA", namedCurve },
      signParams: { name: "ECDSA", hash, namedCurve },
      name: `ECDSAWithSHA${size === 521 ? 512 : size}`,
    };
  }
  return { importParams: { name: "Ed25519" }, signParams: { name: "Ed25519" }, name: "Ed25519" };
}

/** A private key as a WebCrypto signing key, with the algorithm cfssl would sign with. */
export async function toSigningKey(
  key: KeyObject,
): Promise<{ cryptoKey: CryptoKey; algorithm: SigningAlgorithm }> {
  const algorithm = signingAlgorithmFor(key);
  const cryptoKey = key.toCryptoKey(algorithm.importParams, false, ["sign"]) as unknown as CryptoKey;
  return { cryptoKey, algorithm };
}

/** The public half as a WebCrypto key (for CSR and certificate generation). */
export function toPublicCryptoKey(key: KeyObject): CryptoKey {
  const algorithm = signingAlgorithmFor(key);
  return createPublicKey(key).toCryptoKey(algorithm.importParams, true, ["verify"]) as unknown as CryptoKey;
}

/** DER SubjectPublicKeyInfo of a private or public key. */
export function spkiDer(key: KeyObject): Buffer<ArrayBuffer> {
  const publicKey = key.type === "public" ? key : createPublicKey(key);
  return Buffer.from(publicKey.export({ type: "spki", format: "der" }));
}

/** True when the private key is the one whose public half is `publicSpkiDer`. */
export function keyMatchesPublicKey(privateKey: KeyObject, publicSpkiDer: ArrayBuffer | Uint8Array): boolean {
  return spkiDer(privateKey).equals(Buffer.from(publicSpkiDer as ArrayBuffer));
}
