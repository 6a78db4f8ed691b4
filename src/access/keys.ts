/**
 * Access's JWT signing keys: RSA-2048 per account, each with a self-signed certificate (the
 * `public_cert` of `/cdn-cgi/access/certs`), rotated on a schedule. A new key signs from the moment it
 * exists; the previous one stays published until every token it signed has expired (its successor's
 * age plus the account's longest session), then it is deleted.
 */
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { exportJWK, type JWK } from "jose";
import { generateCsr } from "../pki/csr.ts";
import { exportPrivateKeyPem, generatePrivateKey } from "../pki/keys.ts";
import { parseSigningConfig } from "../pki/profile.ts";
import { selfSignCsr } from "../pki/sign.ts";
import type { AccessKey } from "../store/access.ts";
import type { Id, Store, StoreReader, StoreWriter } from "../store/types.ts";
import { ASSERTION_TTL_MS, sessionMs } from "./session.ts";

/** Cloudflare rotates its Access signing keys every 6 weeks. */
export const DEFAULT_ROTATION_DAYS = 42;
const DAY_MS = 86_400_000;
/** Edges pick up a new key within seconds; keep the old one a little longer than strictly needed. */
const PROPAGATION_MS = 5 * 60_000;

/** A new signing key for `accountId`: the record, and its private key PEM (to be sealed by the store). */
export async function newSigningKey(
  accountId: Id,
  now = new Date(),
): Promise<{ key: AccessKey; privateKeyPem: string }> {
  const privateKey = await generatePrivateKey({ algo: "rsa", size: 2048 });
  const request = {
    CN: "Portcullis Access signing key",
    hosts: [],
    key: { algo: "rsa", size: 2048 } as const,
    names: [],
  };
  const csr = await generateCsr(request, privateKey);
  const profile = parseSigningConfig({
    signing: { default: { usages: ["digital signature"], expiry: "17520h" } },
  }).default;
  const cert = await selfSignCsr(csr, privateKey, profile, { now });
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  return {
    key: {
      // Like Cloudflare's kids: 64 hex characters (here the SHA-256 of the public key).
      kid: createHash("sha256").update(spki).digest("hex"),
      accountId,
      certificatePem: cert.toString("pem"),
      // Milliseconds: two rotations within one second must still order newest first.
      createdAt: now.toISOString(),
    },
    privateKeyPem: exportPrivateKeyPem(privateKey),
  };
}

/** The JWK of a key's public half, as `/cdn-cgi/access/certs` lists it. */
export async function publicJwk(key: Pick<AccessKey, "kid" | "certificatePem">): Promise<JWK> {
  const jwk = await exportJWK(new X509Certificate(key.certificatePem).publicKey);
  return { kid: key.kid, kty: jwk.kty, alg: "RS256", use: "sig", e: jwk.e, n: jwk.n } as JWK;
}

export interface KeyPlan {
  /** True when the newest key is older than the rotation period (or there is none). */
  rotate: boolean;
  /** Newest first: the signing key, then the ones whose tokens may still be valid. */
  published: string[];
  /** Keys no valid token can name any more. */
  retired: string[];
}

/**
 * Which keys to publish and which to drop: the newest signs; an older key stays published while a token
 * it signed can still be valid, i.e. until its successor's creation + the longest session + propagation.
 */
export function keyPlan(
  keys: readonly Pick<AccessKey, "kid" | "createdAt">[],
  nowMs: number,
  rotationMs: number,
  longestSessionMs: number,
): KeyPlan {
  const sorted = [...keys].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const newest = sorted[0];
  const plan: KeyPlan = {
    rotate: newest === undefined || nowMs - Date.parse(newest.createdAt) >= rotationMs,
    published: newest ? [newest.kid] : [],
    retired: [],
  };
  for (let i = 1; i < sorted.length; i++) {
    const successor = Date.parse((sorted[i - 1] as AccessKey).createdAt);
    const key = sorted[i] as AccessKey;
    if (nowMs < successor + longestSessionMs + PROPAGATION_MS) plan.published.push(key.kid);
    else plan.retired.push(key.kid);
  }
  return plan;
}

/** The longest a token of this account can live: its longest session (an assertion lives at least a minute). */
export function longestSessionMs(apps: readonly { sessionDuration: string }[]): number {
  return apps.reduce((longest, app) => Math.max(longest, sessionMs(app.sessionDuration)), ASSERTION_TTL_MS);
}

/** Makes sure the account has a current signing key (in the caller's transaction). */
export async function ensureSigningKey(
  tx: StoreWriter,
  accountId: Id,
  options: { rotationDays: number; now?: Date },
): Promise<void> {
  const now = options.now ?? new Date();
  const days = (await tx.access.keyRotationDays(accountId)) ?? options.rotationDays;
  const plan = keyPlan(await tx.access.listKeys(accountId), now.getTime(), days * DAY_MS, 0);
  if (!plan.rotate) return;
  const { key, privateKeyPem } = await newSigningKey(accountId, now);
  await tx.access.insertKey(key, privateKeyPem);
}

/** `/access/keys` as Cloudflare shows it: the interval, the last rotation, the days until the next. */
export async function keyStatus(
  reader: StoreReader,
  accountId: Id,
  defaultDays: number,
  now = new Date(),
): Promise<{
  key_rotation_interval_days: number;
  last_key_rotation_at: string | null;
  days_until_next_rotation: number;
}> {
  const days = (await reader.access.keyRotationDays(accountId)) ?? defaultDays;
  const newest = (await reader.access.listKeys(accountId))[0];
  const next = newest ? Date.parse(newest.createdAt) + days * DAY_MS : now.getTime();
  return {
    key_rotation_interval_days: days,
    last_key_rotation_at: newest?.createdAt ?? null,
    days_until_next_rotation: Math.max(0, Math.ceil((next - now.getTime()) / DAY_MS)),
  };
}

/**
 * The schedule's work for every account with Access applications: a new key when the newest is older
 * than `rotationDays`, and retired keys deleted. Each account in its own transaction; returns what it did.
 */
export async function rotateAccessKeys(
  store: Store,
  options: { rotationDays: number; now?: Date },
): Promise<{ created: number; deleted: number }> {
  const now = options.now ?? new Date();
  const done = { created: 0, deleted: 0 };
  for (const account of await store.listAccounts()) {
    const apps = await store.access.listApps(account.id);
    if (apps.length === 0) continue;
    // The key is made outside the transaction (RSA generation takes a while); used only if still needed.
    const rotationMs = ((await store.access.keyRotationDays(account.id)) ?? options.rotationDays) * DAY_MS;
    const before = keyPlan(await store.access.listKeys(account.id), now.getTime(), rotationMs, 0);
    const fresh = before.rotate ? await newSigningKey(account.id, now) : undefined;
    await store.transaction(async (tx) => {
      const plan = keyPlan(
        await tx.access.listKeys(account.id),
        now.getTime(),
        rotationMs,
        longestSessionMs(await tx.access.listApps(account.id)),
      );
      for (const kid of plan.retired) {
        await tx.access.deleteKey(kid);
        done.deleted++;
      }
      if (plan.rotate && fresh) {
        await tx.access.insertKey(fresh.key, fresh.privateKeyPem);
        done.created++;
      }
      if (plan.retired.length > 0 || (plan.rotate && fresh)) {
        await tx.audit({
          tokenId: null,
          action: "access_keys.rotate",
          resource: `accounts/${account.id}/access/keys`,
          before: { kids: [...plan.published, ...plan.retired] },
          after: { kids: [...(plan.rotate && fresh ? [fresh.key.kid] : []), ...plan.published] },
        });
      }
    });
  }
  return done;
}
