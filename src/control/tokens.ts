/**
 * API tokens: `pct_` + 40 base62 characters, shown once; the store keeps only the SHA-256 hex of the
 * whole string. The first start with no tokens creates an admin token the caller prints once.
 */
import { createHash, randomBytes } from "node:crypto";
import { newId, timestamp } from "../store/ids.ts";
import type { ApiToken, Id, Store, StoreWriter, TokenScope } from "../store/types.ts";

export const TOKEN_PREFIX = "pct_";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TOKEN_CHARS = 40;

/** A new bearer secret; rejection sampling keeps every base62 character equally likely. */
export function generateTokenSecret(): string {
  let out = TOKEN_PREFIX;
  while (out.length < TOKEN_PREFIX.length + TOKEN_CHARS) {
    for (const byte of randomBytes(64)) {
      if (byte < 248 && out.length < TOKEN_PREFIX.length + TOKEN_CHARS) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function hashToken(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export interface NewToken {
  /** The bearer string: shown once, never stored. */
  token: string;
  record: ApiToken;
}

/** Inserts a token inside a transaction the caller runs (so the audit helper can record it). */
export async function insertToken(
  tx: StoreWriter,
  spec: { name: string; scopes: TokenScope[] },
  secret: string = generateTokenSecret(),
): Promise<NewToken> {
  const record: ApiToken = {
    id: newId(),
    name: spec.name,
    scopes: spec.scopes,
    status: "active",
    createdAt: timestamp(),
    lastUsedAt: null,
  };
  await tx.insertApiToken(record, hashToken(secret));
  return { token: secret, record };
}

export function createToken(store: Store, spec: { name: string; scopes: TokenScope[] }): Promise<NewToken> {
  return store.transaction(async (tx) => {
    const created = await insertToken(tx, spec);
    await tx.audit({
      tokenId: null,
      action: "api_token.create",
      resource: `user/tokens/${created.record.id}`,
      before: null,
      after: created.record,
    });
    return created;
  });
}

/**
 * On a store without tokens, creates an admin token (the given one, e.g. `PORTCULLIS_ADMIN_TOKEN`, else a
 * random one) and returns its bearer string for the caller to print once; otherwise undefined.
 */
export async function ensureBootstrapToken(store: Store, envToken?: string): Promise<string | undefined> {
  const given = envToken?.trim();
  if (given !== undefined && given !== "" && given.length < 20) {
    throw new Error("PORTCULLIS_ADMIN_TOKEN must be at least 20 characters long");
  }
  return store.transaction(async (tx) => {
    if ((await tx.listApiTokens()).length > 0) return undefined;
    const created = await insertToken(
      tx,
      { name: "bootstrap admin", scopes: [{ kind: "admin" }] },
      given || undefined,
    );
    await tx.audit({
      tokenId: null,
      action: "api_token.bootstrap",
      resource: `user/tokens/${created.record.id}`,
      before: null,
      after: created.record,
    });
    return created.token;
  });
}

export type Access = "read" | "edit";

/** What a route touches: everything (admin), an account, or a zone of an account. */
export type Target =
  | { kind: "admin" }
  | { kind: "account"; accountId: Id }
  | { kind: "zone"; zoneId: Id; accountId?: Id };

function allows(scopeAccess: Access, needed: Access): boolean {
  return scopeAccess === "edit" || needed === "read";
}

/** Admin may do anything; an account scope covers the account and its zones; a zone scope its zone. */
export function permits(token: ApiToken, target: Target, access: Access): boolean {
  return token.scopes.some((scope) => {
    if (scope.kind === "admin") return true;
    if (target.kind === "admin") return false;
    if (scope.kind === "account") {
      return scope.accountId === target.accountId && allows(scope.access, access);
    }
    return target.kind === "zone" && scope.zoneId === target.zoneId && allows(scope.access, access);
  });
}
