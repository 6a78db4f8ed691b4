import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { link, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { type SecretOwner, StoreError } from "./types.ts";

/**
 * Private keys at rest: AES-256-GCM with a random 12-byte IV per secret and the owner (kind + id) as
 * additional data, so a ciphertext moved to another row does not decrypt. The key itself never enters the
 * database, a record, a log line or an error message.
 */

export interface SealedSecret {
  iv: string;
  ciphertext: string;
  tag: string;
}

export interface SecretBox {
  seal(owner: SecretOwner, plaintext: string): SealedSecret;
  open(owner: SecretOwner, sealed: SealedSecret): string;
}

const KEY_BYTES = 32;
export const KEY_FILE = "secret.key";

export function secretBox(key: Buffer): SecretBox {
  checkKey(key);
  return {
    seal: (owner, plaintext) => sealWithKey(key, additionalData(owner), Buffer.from(plaintext, "utf8")),
    open(owner, sealed) {
      try {
        return openWithKey(key, additionalData(owner), sealed).toString("utf8");
      } catch {
        throw new StoreError(
          "invalid",
          `cannot decrypt the private key of ${owner.kind} ${owner.id} (wrong secret key?)`,
        );
      }
    },
  };
}

/** AES-256-GCM under `key` with a random 12-byte IV; `aad` binds the ciphertext to what it belongs to. */
export function sealWithKey(key: Buffer, aad: Buffer, plaintext: Buffer): SealedSecret {
  checkKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  };
}

/** The plaintext of `sealWithKey`; throws when the key, the additional data or the bytes do not match. */
export function openWithKey(key: Buffer, aad: Buffer, sealed: SealedSecret): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
  decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]);
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) {
    throw new StoreError("invalid", `the secret key must be ${KEY_BYTES} bytes, not ${key.length}`);
  }
}

function additionalData(owner: SecretOwner): Buffer {
  return Buffer.from(`${owner.kind}:${owner.id}`, "utf8");
}

/**
 * The key, first found of: the option, env PORTCULLIS_SECRET_KEY (base64 or hex), `<dataDir>/secret.key`
 * (created with mode 0600 and 32 random bytes on first use). Processes sharing one PostgreSQL database must
 * share the key: set the variable, or copy the file.
 */
export async function loadSecretKey(options: {
  secretKey?: Buffer;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}): Promise<Buffer> {
  if (options.secretKey !== undefined) return options.secretKey;
  const fromEnv = (options.env ?? process.env).PORTCULLIS_SECRET_KEY;
  if (fromEnv !== undefined && fromEnv !== "") return decodeKey(fromEnv, "PORTCULLIS_SECRET_KEY");
  const path = join(options.dataDir, KEY_FILE);
  const created = await createKeyFile(path);
  if (created !== undefined) return created;
  return decodeKey(await readFile(path, "utf8"), path);
}

/**
 * Writes a new key file unless one exists. Written aside, then hard-linked into place: two processes
 * starting together never see a half-written key, and the second one reads the first one's.
 */
async function createKeyFile(path: string): Promise<Buffer | undefined> {
  const key = randomBytes(KEY_BYTES);
  const aside = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(aside, "wx", 0o600);
    try {
      await handle.writeFile(`${key.toString("base64")}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(aside, path);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw new StoreError(
      "unavailable",
      `cannot create the secret key file ${path}: ${(error as Error).message}`,
    );
  } finally {
    await rm(aside, { force: true });
  }
}

function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : Buffer.from(trimmed, "base64");
  if (key.length !== KEY_BYTES) {
    throw new StoreError("invalid", `${source}: the secret key must be ${KEY_BYTES} bytes as base64 or hex`);
  }
  return key;
}
