/**
 * Forwards one request to the host's origin over its pooled keep-alive connections, bodies streamed
 * both ways, with the edge's identity headers in place of anything the client sent under those names.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errors as undiciErrors } from "undici";
import type { HostRuntime } from "../snapshot/snapshot.ts";
import { ALL_IDENTITY_HEADERS } from "./forward.ts";
import type { ClientAuth } from "./identity.ts";

export type EdgeRequest = IncomingMessage | Http2ServerRequest;
export type EdgeResponse = ServerResponse | Http2ServerResponse;

/** Headers that describe one hop and never cross the proxy, either way (RFC 9110 §7.6.1). */
const HOP_BY_HOP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/** On requests also HTTP/2's own header, Host (set again below) and what the edge states itself. */
const HOP_BY_HOP = new Set([
  ...HOP_BY_HOP_RESPONSE,
  "http2-settings",
  "host",
  // The edge states these itself; a client's copies are not to be believed.
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-real-ip",
  "forwarded",
]);

export interface ProxyFailure {
  status: 502 | 504;
  reason: "origin_unreachable" | "origin_timeout" | "origin_tls_error";
  detail: string;
}

/** Request headers for the origin: client headers minus hop-by-hop and identity, plus ours. */
export function originRequestHeaders(
  incoming: IncomingHttpHeaders,
  host: HostRuntime,
  auth: ClientAuth,
  clientAddress: string,
  authority: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const strip = host.forwarder.strip;
  for (const name in incoming) {
    if (name.charCodeAt(0) === 58 /* ":" pseudo-header */ || HOP_BY_HOP.has(name)) continue;
    if (ALL_IDENTITY_HEADERS.has(name) || strip.has(name)) continue;
    const value = incoming[name];
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(name === "cookie" ? "; " : ", ") : value;
  }
  connectionTokens(incoming.connection, headers);
  headers.host = authority;
  headers["x-forwarded-for"] = clientAddress;
  headers["x-forwarded-proto"] = "https";
  headers["x-forwarded-host"] = authority;
  const forwardedFor = clientAddress.includes(":") ? `"[${clientAddress}]"` : clientAddress;
  headers.forwarded = `for=${forwardedFor};proto=https;host="${authority}"`;
  host.forwarder.add(auth, headers);
  return headers;
}

/** Headers named in Connection are hop-by-hop too. */
function connectionTokens(connection: string | string[] | undefined, headers: Record<string, string>): void {
  if (!connection) return;
  for (const token of String(connection).split(",")) {
    const name = token.trim().toLowerCase();
    if (name && !ALL_IDENTITY_HEADERS.has(name)) delete headers[name];
  }
}

function hasBody(req: EdgeRequest): boolean {
  const headers = req.headers;
  if (headers["content-length"] !== undefined) return headers["content-length"] !== "0";
  if (headers["transfer-encoding"] !== undefined) return true;
  if (req.httpVersionMajor === 2) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  return false;
}

/** Proxies the request; resolves when the response is complete, or with a failure to answer instead. */
export async function proxyRequest(
  req: EdgeRequest,
  res: EdgeResponse,
  host: HostRuntime,
  headers: Record<string, string>,
): Promise<ProxyFailure | null> {
  const origin = host.origin;
  let response: Awaited<ReturnType<typeof origin.dispatcher.request>>;
  try {
    response = await origin.dispatcher.request({
      path: origin.basePath + (req.url ?? "/"),
      method: req.method as "GET",
      headers,
      body: hasBody(req) ? (req as NodeJS.ReadableStream as never) : null,
    });
  } catch (err) {
    return proxyFailure(err);
  }
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || HOP_BY_HOP_RESPONSE.has(name)) continue;
    outgoing[name] = value;
  }
  (res as ServerResponse).writeHead(response.statusCode, outgoing);
  try {
    await pipeline(response.body, res as NodeJS.WritableStream);
  } catch {
    // The client went away or the origin broke off mid-body: nothing left to answer.
    res.destroy();
  }
  return null;
}

export function proxyFailure(err: unknown): ProxyFailure {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof undiciErrors.ConnectTimeoutError || err instanceof undiciErrors.HeadersTimeoutError) {
    return { status: 504, reason: "origin_timeout", detail };
  }
  const code = (err as { code?: string }).code ?? "";
  if (/CERT|SSL|TLS|ERR_TLS|SELF_SIGNED|VERIFY|HOSTNAME/.test(code) || /certificate/i.test(detail)) {
    return { status: 502, reason: "origin_tls_error", detail };
  }
  return { status: 502, reason: "origin_unreachable", detail };
}

/** A WebSocket (or other HTTP/1.1 Upgrade) tunnelled to the origin. */
export async function proxyUpgrade(
  req: IncomingMessage,
  clientSocket: Duplex,
  head: Buffer,
  host: HostRuntime,
  headers: Record<string, string>,
): Promise<ProxyFailure | null> {
  const origin = host.origin;
  const upgradeTo = String(req.headers.upgrade ?? "");
  try {
    const { headers: responseHeaders, socket: originSocket } = await origin.dispatcher.upgrade({
      path: origin.basePath + (req.url ?? "/"),
      method: req.method ?? "GET",
      headers, // undici adds Connection and Upgrade itself from `protocol`
      protocol: upgradeTo,
    });
    const lines = ["HTTP/1.1 101 Switching Protocols"];
    for (const [name, value] of Object.entries(responseHeaders)) {
      for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
    }
    clientSocket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) originSocket.write(head);
    originSocket.on("error", () => clientSocket.destroy());
    clientSocket.on("error", () => originSocket.destroy());
    originSocket.pipe(clientSocket);
    clientSocket.pipe(originSocket);
    return null;
  } catch (err) {
    return proxyFailure(err);
  }
}
