/**
 * Bearer-token authentication (an onRequest hook, before any body is read) and the scope checks routes
 * call once they know what they touch. GET and HEAD need read access; every other method edit access.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Account, ApiToken, Id, Store, Zone } from "../store/types.ts";
import { forbidden, notFound, unauthenticated } from "./errors.ts";
import { type Access, hashToken, permits, type Target } from "./tokens.ts";

export { createToken, ensureBootstrapToken, generateTokenSecret, hashToken } from "./tokens.ts";

declare module "fastify" {
  interface FastifyRequest {
    token: ApiToken | null;
  }
  interface FastifyContextConfig {
    /** No token needed (the OpenAPI document). */
    public?: boolean;
  }
}

const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i;

export async function authenticate(store: Store, header: string | undefined): Promise<ApiToken> {
  const match = header === undefined ? null : BEARER.exec(header.trim());
  if (!match) throw unauthenticated();
  const token = await store.getApiTokenByHash(hashToken(match[1] as string));
  if (token?.status !== "active") throw unauthenticated();
  return token;
}

export function installAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest("token", null);
  app.addHook("onRequest", async (request) => {
    if (request.is404 || request.routeOptions.config.public) return;
    request.token = await authenticate(store, request.headers.authorization);
  });
}

export function accessOf(request: FastifyRequest): Access {
  return request.method === "GET" || request.method === "HEAD" ? "read" : "edit";
}

function tokenOf(request: FastifyRequest): ApiToken {
  if (!request.token) throw unauthenticated();
  return request.token;
}

export function authorize(request: FastifyRequest, target: Target, access = accessOf(request)): void {
  if (!permits(tokenOf(request), target, access)) throw forbidden();
}

export function requireAdmin(request: FastifyRequest): void {
  authorize(request, { kind: "admin" });
}

/** The account, after checking the token may touch it (403 before 404, so ids do not leak). */
export async function requireAccount(request: FastifyRequest, store: Store, accountId: Id): Promise<Account> {
  authorize(request, { kind: "account", accountId });
  const account = await store.getAccount(accountId);
  if (!account) throw notFound(`account ${accountId} not found`);
  return account;
}

/** The zone, after checking the token may touch it (by zone scope, its account's scope, or admin). */
export async function requireZone(request: FastifyRequest, store: Store, zoneId: Id): Promise<Zone> {
  const zone = await store.getZone(zoneId);
  authorize(request, zone ? { kind: "zone", zoneId, accountId: zone.accountId } : { kind: "zone", zoneId });
  if (!zone) throw notFound(`zone ${zoneId} not found`);
  return zone;
}

export function tokenIdOf(request: FastifyRequest): Id | null {
  return request.token?.id ?? null;
}
