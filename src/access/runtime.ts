/**
 * A host's Access, compiled for the Snapshot: its applications by path (longest first), their policies
 * as closures in evaluation order, the signing key, the published keys and the `/cdn-cgi/access/certs`
 * document, and the account's service tokens. Built once per Snapshot; the hot path only looks things up.
 */
import { createPrivateKey, createPublicKey, type KeyObject, timingSafeEqual } from "node:crypto";
import type { JWK } from "jose";
import { normalizePath, prefixMatches } from "../edge/paths.ts";
import { type CompiledPolicy, compilePolicy, orderPolicies, type PolicySpec } from "./policy.ts";

/** A host's Access as plain data (it travels in HostConfig, also to worker processes). */
export interface HostAccess {
  apps: AccessAppSpec[];
  /** Published keys, newest (the signing key) first. */
  keys: { kid: string; jwk: JWK; certificatePem: string }[];
  /** The newest key's private half; null when the account has none yet (then nothing can be allowed). */
  signing: { kid: string; privateKeyPem: string } | null;
  serviceTokens: { id: string; clientId: string; secretHash: string; expiresAtMs: number }[];
}

export interface AccessAppSpec {
  id: string;
  name: string;
  /** The audience tag (aud claim). */
  aud: string;
  /** Path prefix the app covers ("" = the whole host), normalized, matched on segment boundaries. */
  path: string;
  sessionMs: number;
  policies: PolicySpec[];
}

export interface CompiledApp {
  id: string;
  name: string;
  aud: string;
  sessionMs: number;
  policies: readonly CompiledPolicy[];
}

/** What a verified token said, cached by token text for the Snapshot's life. */
export interface VerifiedToken {
  aud: readonly string[];
  expMs: number;
  iss: string;
  /** base64url SHA-256 of the certificate the session is bound to, or null. */
  x5t: string | null;
}

export interface AccessRuntime {
  /** The app covering `target`'s path; `ambiguous` when the path cannot be judged (encoded slash…). */
  appFor(target: string): CompiledApp | "ambiguous" | undefined;
  /** The `/cdn-cgi/access/certs` body. */
  readonly certsBody: string;
  readonly signer: { kid: string; key: KeyObject } | null;
  verifyKey(kid: string | undefined): KeyObject | undefined;
  /** The id of the service token these headers name, when the secret matches and it has not expired. */
  serviceToken(
    clientId: string,
    secret: string,
    nowMs: number,
    hash: (secret: string) => Buffer,
  ): string | null;
  readonly verified: Map<string, VerifiedToken>;
}

const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function cached(cache: Map<string, KeyObject>, kid: string, make: () => KeyObject): KeyObject {
  let key = cache.get(kid);
  if (!key) {
    key = make();
    if (cache.size >= 1000) cache.clear();
    cache.set(kid, key);
  }
  return key;
}

export function compileAccess(access: HostAccess | undefined): AccessRuntime | undefined {
  if (!access || access.apps.length === 0) return undefined;
  const apps = [...access.apps]
    .sort((a, b) => b.path.length - a.path.length)
    .map((app) => ({
      path: app.path,
      compiled: {
        id: app.id,
        name: app.name,
        aud: app.aud,
        sessionMs: app.sessionMs,
        policies: orderPolicies(app.policies).map(compilePolicy),
      } satisfies CompiledApp,
    }));
  const coversHost = apps.some((app) => app.path === "");
  const verifyKeys = new Map(
    access.keys.map((k) => [k.kid, cached(publicKeys, k.kid, () => createPublicKey(k.certificatePem))]),
  );
  const signing = access.signing;
  const tokens = new Map(
    access.serviceTokens.map((t) => [t.clientId, { ...t, hash: Buffer.from(t.secretHash, "hex") }]),
  );
  const certs = access.keys.map((k) => ({ kid: k.kid, cert: k.certificatePem }));
  return {
    appFor(target) {
      const path = normalizePath(target);
      // An encoded slash may mean another path to the origin: only a host-wide app alone can judge it.
      if (path === null) return apps.length === 1 && coversHost ? apps[0]?.compiled : "ambiguous";
      for (const app of apps) if (app.path === "" || prefixMatches(app.path, path)) return app.compiled;
      return undefined;
    },
    certsBody: JSON.stringify({
      keys: access.keys.map((k) => k.jwk),
      public_cert: certs[0] ?? null,
      public_certs: certs,
    }),
    signer: signing
      ? {
          kid: signing.kid,
          key: cached(privateKeys, signing.kid, () => createPrivateKey(signing.privateKeyPem)),
        }
      : null,
    verifyKey: (kid) => (kid === undefined ? undefined : verifyKeys.get(kid)),
    serviceToken(clientId, secret, nowMs, hash) {
      const token = tokens.get(clientId);
      if (!token || nowMs >= token.expiresAtMs) return null;
      const given = hash(secret);
      return given.length === token.hash.length && timingSafeEqual(given, token.hash) ? token.id : null;
    },
    verified: new Map(),
  };
}
