/**
 * Forwards one request to the host's origin over its pooled keep-alive connections, bodies streamed
 * both ways, with the edge's identity headers in place of anything the client sent under those names.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Duplex } from "node:stream";
import { type Dispatcher, errors as undiciErrors } from "undici";
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

/**
 * Proxies the request; resolves when the response is complete, or with a failure to answer instead.
 * The origin's response is written straight into the client's from undici's dispatch callbacks (no
 * intermediate body stream or `pipeline`, which cost an AbortController, listeners and a DOMException per
 * request), with backpressure: a full client socket pauses the origin connection until it drains.
 */
export function proxyRequest(
  req: EdgeRequest,
  res: EdgeResponse,
  host: HostRuntime,
  headers: Record<string, string>,
): Promise<ProxyFailure | null> {
  const origin = host.origin;
  return new Promise((resolve) => {
    const forwarder = new ResponseForwarder(res as ServerResponse, resolve);
    origin.dispatcher.dispatch(
      {
        path: origin.basePath + (req.url ?? "/"),
        method: req.method ?? "GET",
        headers,
        body: hasBody(req) ? (req as NodeJS.ReadableStream as never) : null,
      },
      forwarder,
    );
  });
}

type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestStart"]>>[0];

/** One proxied response: undici's dispatch handler writing into the client's response. */
class ResponseForwarder implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #resolve: (failure: ProxyFailure | null) => void;
  #controller: Controller | undefined;
  #started = false;
  #settled = false;
  #clientGone = false;

  constructor(res: ServerResponse, resolve: (failure: ProxyFailure | null) => void) {
    this.#res = res;
    this.#resolve = resolve;
    // The client went away: stop the origin request too (its connection is not reused mid-body).
    res.once("close", () => {
      if (this.#settled) return;
      this.#clientGone = true;
      this.#controller?.abort(new Error("the client closed the connection"));
    });
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new Error("the client closed the connection"));
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the client gets the final response only
    const outgoing: Record<string, string | string[]> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || HOP_BY_HOP_RESPONSE.has(name)) continue;
      outgoing[name] = value;
    }
    const res = this.#res;
    // A cookie the edge set itself (Access's CF_Authorization) goes out beside the origin's own.
    const own = res.getHeader("set-cookie");
    if (own !== undefined) {
      outgoing["set-cookie"] = [...[own].flat().map(String), ...[outgoing["set-cookie"] ?? []].flat()];
    }
    // Head, body and end usually arrive in this same tick: one TLS record and one write for all of them.
    if (typeof res.cork === "function") {
      res.cork();
      process.nextTick(uncork, res);
    }
    res.writeHead(statusCode, outgoing);
    this.#started = true;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    controller.pause();
    this.#res.once("drain", () => controller.resume());
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#settle(null);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.#clientGone) {
      this.#settle(null);
    } else if (!this.#started) {
      this.#settle(proxyFailure(err));
    } else {
      // The origin broke off mid-body: nothing left to answer.
      this.#res.destroy();
      this.#settle(null);
    }
  }

  #settle(failure: ProxyFailure | null): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(failure);
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
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
