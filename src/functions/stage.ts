/**
 * The edge's function stage (after the firewall and Access): when a route of the Snapshot's router matches
 * the request's host and path, the request goes to the function's workerd instead of the origin, over a
 * pooled keep-alive connection, with `request.cf` (tlsClientAuth from src/edge/identity.ts) in the header
 * workerd turns into `request.cf`. The function's answer streams back as it is, its 500 for an uncaught
 * exception included; the edge answers 503 itself when the function cannot answer in time or at all.
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { Pool } from "undici";
import { hostOf } from "../edge/decide.ts";
import { type ClientAuth, workersTlsClientAuth } from "../edge/identity.ts";
import { type EdgeRequest, type EdgeResponse, proxyRequest, proxyUpgrade } from "../edge/proxy.ts";
import { edgeAnswer } from "../edge/respond.ts";
import type { HostRuntime } from "../snapshot/snapshot.ts";
import type { FunctionRouter, FunctionTarget } from "./router.ts";
import { CF_BLOB_HEADER } from "./workerd-config.ts";

/** This process's connections to each function's workerd, by endpoint URL (a restarted one gets a new URL). */
const pools = new Map<string, { pool: Pool; origin: HostRuntime["origin"] }>();
const MAX_POOLS = 256;

function originFor(target: FunctionTarget & { url: string }): HostRuntime["origin"] {
  let entry = pools.get(target.url);
  if (!entry) {
    if (pools.size >= MAX_POOLS) closeOldestPool();
    const pool = new Pool(target.url, {
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      keepAliveTimeout: 30_000,
      connectTimeout: 2_000,
    });
    // proxyRequest needs only the dispatcher and the base path of an origin.
    const origin = { dispatcher: pool, basePath: "", origin: target.url } as unknown as HostRuntime["origin"];
    entry = { pool, origin };
    pools.set(target.url, entry);
  }
  return entry.origin;
}

function closeOldestPool(): void {
  const [url, entry] = pools.entries().next().value as [string, { pool: Pool }];
  pools.delete(url);
  void entry.pool.close().catch(() => {});
}

/** tlsClientAuth as JSON, computed once per distinct certificate and status (requests repeat them). */
const authJson = new WeakMap<object, Map<string, string>>();
const NO_CERT = JSON.stringify(
  workersTlsClientAuth({ presented: false, verified: false, revoked: false, verify: "NONE", cert: null }),
);

function tlsClientAuthJson(auth: ClientAuth): string {
  if (!auth.cert) return auth.presented ? JSON.stringify(workersTlsClientAuth(auth)) : NO_CERT;
  let byStatus = authJson.get(auth.cert);
  if (!byStatus) {
    byStatus = new Map();
    authJson.set(auth.cert, byStatus);
  }
  const status = `${auth.presented}|${auth.verify}|${auth.revoked}`;
  let json = byStatus.get(status);
  if (json === undefined) {
    json = JSON.stringify(workersTlsClientAuth(auth));
    byStatus.set(status, json);
  }
  return json;
}

/** `request.cf` of one request, as Workers shapes it (the fields a self-hosted edge can know). */
function cfObject(req: EdgeRequest, auth: ClientAuth): string {
  const socket = req.socket as TLSSocket;
  const cipher = typeof socket.getCipher === "function" ? socket.getCipher() : undefined;
  const protocol = req.httpVersionMajor === 2 ? "HTTP/2" : `HTTP/${req.httpVersion}`;
  const tlsVersion = typeof socket.getProtocol === "function" ? (socket.getProtocol() ?? "") : "";
  const tlsCipher = cipher?.standardName ?? cipher?.name ?? "";
  return `{"tlsClientAuth":${tlsClientAuthJson(auth)},"httpProtocol":${JSON.stringify(protocol)},"tlsVersion":${JSON.stringify(tlsVersion)},"tlsCipher":${JSON.stringify(tlsCipher)},"clientTcpRtt":0}`;
}

/**
 * Runs the matching function, if any; true when it answered the request (the caller stops there).
 * `headers` are the origin request's headers (client headers minus hop-by-hop, plus the edge's own).
 */
export async function functionStage(
  router: FunctionRouter,
  req: EdgeRequest,
  res: EdgeResponse,
  auth: ClientAuth,
  headers: Record<string, string>,
  logger: Logger,
): Promise<boolean> {
  if (router.empty) return false;
  const target = targetOf(router, req);
  if (!target) return false;
  if (target.url === undefined) {
    fail(req, res, logger, target, "function_unavailable", "the function is not running");
    return true;
  }
  addFunctionHeaders(req, auth, headers);
  const failure = await proxyRequest(req, res, runtimeOf(target, target.url), headers);
  if (failure) {
    const reason = failure.reason === "origin_timeout" ? "function_timeout" : "function_unavailable";
    if (res.headersSent) res.destroy();
    else fail(req, res, logger, target, reason, failure.detail);
  }
  return true;
}

/** A WebSocket (HTTP/1.1 Upgrade) on a function's route goes to the function, never around it to the origin. */
export async function functionUpgrade(
  router: FunctionRouter,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  auth: ClientAuth,
  headers: Record<string, string>,
  logger: Logger,
): Promise<boolean> {
  if (router.empty) return false;
  const target = targetOf(router, req);
  if (!target) return false;
  let detail = "the function is not running";
  if (target.url !== undefined) {
    addFunctionHeaders(req, auth, headers);
    const failure = await proxyUpgrade(req, socket, head, runtimeOf(target, target.url), headers);
    if (!failure) return true;
    detail = failure.detail;
  }
  logger.warn(
    { event: "function_unavailable", function: target.name, path: req.url, detail },
    MESSAGES.function_unavailable,
  );
  const answer = edgeAnswer(503, "function_unavailable", req.headers);
  const head503 = ["HTTP/1.1 503 Service Unavailable"];
  for (const [name, value] of Object.entries(answer.headers)) head503.push(`${name}: ${value}`);
  head503.push(`content-length: ${Buffer.byteLength(answer.body)}`, "connection: close");
  socket.end(`${head503.join("\r\n")}\r\n\r\n${answer.body}`);
  return true;
}

function targetOf(router: FunctionRouter, req: EdgeRequest): FunctionTarget | undefined {
  const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return router.match(hostOf(authority) ?? "", query === -1 ? url : url.slice(0, query));
}

function addFunctionHeaders(req: EdgeRequest, auth: ClientAuth, headers: Record<string, string>): void {
  headers[CF_BLOB_HEADER] = cfObject(req, auth);
  headers["cf-connecting-ip"] = req.socket.remoteAddress ?? "";
}

/** proxyRequest and proxyUpgrade use only a host's origin pool (its dispatcher and base path). */
function runtimeOf(target: FunctionTarget, url: string): HostRuntime {
  return { origin: originFor({ ...target, url }) } as HostRuntime;
}

const MESSAGES: Record<string, string> = {
  function_timeout: "The edge function did not answer in time.",
  function_unavailable: "The edge function is not available.",
};

function fail(
  req: EdgeRequest,
  res: EdgeResponse,
  logger: Logger,
  target: FunctionTarget,
  reason: "function_timeout" | "function_unavailable",
  detail: string,
): void {
  logger.warn({ event: reason, function: target.name, path: req.url, detail }, MESSAGES[reason]);
  const answer = edgeAnswer(503, reason, req.headers);
  const body = answer.body.replace("Service Unavailable.", MESSAGES[reason] as string);
  (res as import("node:http").ServerResponse)
    .writeHead(503, { ...answer.headers, "content-length": String(Buffer.byteLength(body)) })
    .end(body);
}
