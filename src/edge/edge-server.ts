/**
 * One edge worker's sockets: a TCP listener that reads each ClientHello before TLS starts, and two TLS
 * servers it hands connections to, one that asks for a client certificate (hosts with mTLS) and one that
 * never does (public hosts, so browsers there never see a certificate prompt). Requests then go through
 * `decide` and the proxy. The Snapshot is swapped whole; a connection keeps no host state but its SNI.
 */
import { constants as cryptoConstants } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2SecureServer, type Http2ServerRequest } from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type tls from "node:tls";
import type { Logger } from "pino";
import { accessStage } from "../access/stage.ts";
import { requestEvent } from "../events/edge.ts";
import { type EventSink, NO_EVENTS } from "../events/types.ts";
import { functionStage, functionUpgrade } from "../functions/stage.ts";
import { OcspChecker, OcspError } from "../revocation/index.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import { type ConnectionAuth, connectionAuth, type OcspVerdict, type RequestAuth } from "./client-auth.ts";
import { ALERT, readClientHello, tlsAlert } from "./client-hello.ts";
import { type Decision, decide, hostOf } from "./decide.ts";
import { FirewallStage } from "./firewall.ts";
import { withCertificate } from "./log.ts";
import type { EdgeMetrics } from "./metrics.ts";
import {
  type EdgeRequest,
  type EdgeResponse,
  originRequestHeaders,
  type ProxyFailure,
  proxyRequest,
  proxyUpgrade,
} from "./proxy.ts";
import { edgeAnswer } from "./respond.ts";

interface ConnectionState {
  serverName: string | null;
  auth: ConnectionAuth;
}

const kState = Symbol("portcullis.connection");
const kServerName = Symbol("portcullis.serverName");
/** The TCP socket, marked with the SNI its ClientHello carried (a resumed TLS 1.2 session reports none). */
type RawSocket = net.Socket & { [kServerName]?: string | null };
type EdgeSocket = tls.TLSSocket & { [kState]?: ConnectionState; _parent?: RawSocket };

export interface EdgeServerOptions {
  logger: Logger;
  metrics: EdgeMetrics;
  /** Several worker processes bind the same port (SO_REUSEPORT): the kernel spreads connections. */
  reusePort?: boolean;
  /** Where edge events go (src/events/); none recorded when absent. */
  events?: EventSink;
}

export class EdgeServer {
  #snapshot: Snapshot;
  readonly #logger: Logger;
  readonly #metrics: EdgeMetrics;
  readonly #events: EventSink;
  readonly #firewall: FirewallStage;
  readonly #reusePort: boolean;
  readonly #mtlsServer: Http2SecureServer;
  readonly #publicServer: Http2SecureServer;
  readonly #listener: net.Server;
  #redirector: http.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  /** One OCSP cache per responder timeout in use. */
  readonly #ocspCheckers = new Map<number, OcspChecker>();

  constructor(snapshot: Snapshot, options: EdgeServerOptions) {
    this.#snapshot = snapshot;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#events = options.events ?? NO_EVENTS;
    this.#firewall = new FirewallStage(this.#events, this.#metrics, this.#logger);
    this.#reusePort = options.reusePort ?? false;
    this.#mtlsServer = this.#tlsServer(true);
    this.#publicServer = this.#tlsServer(false);
    this.#listener = net.createServer((socket) => this.#accept(socket));
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Serves `snapshot` from now on: new connections and every new request on existing ones. */
  apply(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#metrics.snapshotVersion.set(snapshot.version);
  }

  async listen(): Promise<{ https: net.AddressInfo; http?: net.AddressInfo }> {
    const { listen } = this.#snapshot.config;
    const https = await listenOn(this.#listener, listen.https.host, listen.https.port, this.#reusePort);
    if (!listen.http) return { https };
    this.#redirector = http.createServer((req, res) => redirectToHttps(req, res, https.port));
    const plain = await listenOn(this.#redirector, listen.http.host, listen.http.port, this.#reusePort);
    return { https, http: plain };
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes what is left. */
  async close(graceMs = 10_000): Promise<void> {
    const closed = Promise.all([
      closeServer(this.#listener),
      this.#redirector ? closeServer(this.#redirector) : Promise.resolve(),
    ]);
    for (const server of [this.#mtlsServer, this.#publicServer]) {
      server.close();
    }
    this.#redirector?.closeIdleConnections();
    const deadline = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, graceMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
  }

  #tlsServer(requestCert: boolean): Http2SecureServer {
    const limits = this.#snapshot.config.limits;
    const server = http2.createSecureServer({
      allowHTTP1: true,
      requestCert,
      // Enforced per request instead: OpenSSL's own rejection would close the socket with no answer.
      rejectUnauthorized: false,
      // Session resumption skips client-certificate checks; on mTLS hosts there is none at all.
      ...(requestCert ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
      handshakeTimeout: limits.handshakeTimeoutMs,
    });
    const plain = server as unknown as http.Server;
    plain.headersTimeout = limits.headersTimeoutMs;
    plain.requestTimeout = limits.requestTimeoutMs;
    plain.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.setTimeout(limits.keepAliveTimeoutMs);
    server.on("secureConnection", (socket: EdgeSocket) => this.#secured(socket, requestCert));
    server.on("request", (req: EdgeRequest, res: EdgeResponse) => this.#request(req, res));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#upgrade(req, socket, head),
    );
    server.on("tlsClientError", (err: Error & { code?: string }) => {
      this.#metrics.handshakes.inc({ host: "", result: "error" });
      this.#logger.debug({ event: "tls_error", code: err.code, err: err.message }, "TLS handshake failed");
    });
    server.on("sessionError", () => {});
    return server;
  }

  async #accept(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setNoDelay(true);
    const limits = this.#snapshot.config.limits;
    const { result, bytes } = await readClientHello(socket, {
      maxBytes: limits.clientHelloMaxBytes,
      timeoutMs: limits.clientHelloTimeoutMs,
    });
    if (result.kind !== "complete") {
      this.#refuse(socket, result.kind === "error" ? result.reason : result.kind);
      return;
    }
    const host = this.#snapshot.lookup(result.hello.serverName);
    if (!host) {
      this.#logger.info(
        { event: "tls_refused", reason: "unrecognized_name", sni: result.hello.serverName },
        "no host for this SNI",
      );
      socket.end(tlsAlert(ALERT.unrecognizedName));
      return;
    }
    (socket as RawSocket)[kServerName] = result.hello.serverName;
    socket.unshift(bytes);
    const server = host.requestsCert ? this.#mtlsServer : this.#publicServer;
    // The TLS server takes the context for the new socket from `_sharedCreds`, synchronously: give it this
    // host's. (Switching contexts in SNICallback instead leaves OpenSSL verifying client chains against
    // the first context's CA store, and serving only one of a host's RSA and ECDSA certificates.)
    (server as unknown as { _sharedCreds: tls.SecureContext })._sharedCreds = host.secureContext;
    server.emit("connection", socket);
  }

  #refuse(socket: net.Socket, reason: string): void {
    this.#metrics.handshakes.inc({ host: "", result: reason });
    this.#logger.debug({ event: "tls_refused", reason, remote: socket.remoteAddress }, "connection refused");
    if (reason === "plain_http") {
      socket.end(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 46\r\n\r\n" +
          "This port speaks HTTPS; use https:// instead.\n",
      );
    } else if (reason === "timeout" || reason === "closed") {
      socket.destroy();
    } else {
      socket.end(tlsAlert(reason === "unsupported_version" ? ALERT.protocolVersion : ALERT.decodeError));
    }
  }

  #secured(socket: EdgeSocket, requestCert: boolean): void {
    const state = this.#connectionState(socket);
    const host = this.#snapshot.lookup(state.serverName);
    let result = "public";
    if (requestCert) result = !state.auth.presented ? "none" : state.auth.failure ? "invalid" : "verified";
    this.#metrics.handshakes.inc({ host: host?.name ?? "", result });
  }

  #connectionState(socket: EdgeSocket): ConnectionState {
    let state = socket[kState];
    if (!state) {
      const peeked = socket._parent?.[kServerName];
      const serverName =
        peeked !== undefined ? peeked : typeof socket.servername === "string" ? socket.servername : null;
      const host = this.#snapshot.lookup(serverName);
      const auth = connectionAuth(socket, host?.config.mtls.maxChainDepth ?? 0);
      state = { serverName, auth };
      socket[kState] = state;
    }
    return state;
  }

  async #decideFor(req: EdgeRequest): Promise<Decision> {
    const snapshot = this.#snapshot;
    const state = this.#connectionState(req.socket as EdgeSocket);
    const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
    const host = snapshot.lookup(state.serverName);
    const ocsp = host?.config.mtls.ocsp.enabled
      ? await this.#ocspVerdict(state.auth, host.config.mtls.ocsp.timeoutMs)
      : undefined;
    return decide(
      snapshot,
      ocsp ? { ...state, ocsp } : state,
      { authority, target: req.url ?? "/" },
      Date.now(),
    );
  }

  /** The leaf's OCSP status (cached per certificate until the response's nextUpdate). */
  async #ocspVerdict(auth: ConnectionAuth, timeoutMs: number): Promise<OcspVerdict | undefined> {
    if (!auth.cert || auth.failure || !auth.issuerDer) return undefined;
    let checker = this.#ocspCheckers.get(timeoutMs);
    if (!checker) {
      checker = new OcspChecker({ timeoutMs });
      this.#ocspCheckers.set(timeoutMs, checker);
    }
    try {
      return (await checker.check(auth.cert.der, auth.issuerDer)).status;
    } catch (err) {
      // A certificate that names no responder has nothing to ask; any other failure is no answer.
      if (err instanceof OcspError && err.code === "no_responder") return undefined;
      this.#logger.warn({ event: "ocsp_error", error: (err as Error).message }, "OCSP status unavailable");
      return "unavailable";
    }
  }

  async #request(req: EdgeRequest, res: EdgeResponse): Promise<void> {
    let decision: Decision;
    try {
      decision = await this.#decideFor(req);
    } catch (err) {
      // Fail closed: an internal error never lets a request through.
      this.#logger.error({ event: "internal_error", err: (err as Error).message }, "decision failed");
      this.#answer(req, res, 500, "internal_error");
      this.#events.record(
        requestEvent(req, authorityHost(req), null, {
          action: "error",
          status: 500,
          reason: "internal_error",
        }),
      );
      return;
    }
    this.#record(req, decision, res);
    if (decision.kind !== "forward") {
      this.#answer(req, res, decision.status, decision.reason);
      return;
    }
    if (this.#firewall.stops(req, res, decision)) return;
    if (await accessStage(req, decision, this.#events, res)) return;
    const { host, auth } = decision;
    const authority =
      (req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host) ?? "";
    const headers = originRequestHeaders(req.headers, host, auth, req.socket.remoteAddress ?? "", authority);
    if (await functionStage(this.#snapshot.functions, req, res, auth, headers, this.#logger)) return;
    const started = performance.now();
    const failure = await proxyRequest(req, res, host, headers);
    this.#metrics.upstreamSeconds.observe({ host: host.name }, (performance.now() - started) / 1000);
    if (failure) {
      this.#upstreamFailed(host.name, failure);
      if (!res.headersSent) this.#answer(req, res, failure.status, failure.reason);
      else res.destroy();
    }
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    let decision: Decision;
    try {
      decision = await this.#decideFor(req);
    } catch {
      socket.destroy();
      return;
    }
    this.#record(req, decision);
    if (decision.kind !== "forward") {
      writeRawAnswer(socket, edgeAnswer(decision.status, decision.reason, req.headers));
      return;
    }
    const ruled = this.#firewall.verdict(req, decision);
    if (ruled) return ruled.answer ? writeRawAnswer(socket, ruled.answer) : void socket.destroy();
    const accessAnswer = await accessStage(req, decision, this.#events);
    if (accessAnswer) return writeRawAnswer(socket, accessAnswer);
    const { host, auth } = decision;
    const headers = originRequestHeaders(
      req.headers,
      host,
      auth,
      req.socket.remoteAddress ?? "",
      req.headers.host ?? "",
    );
    if (await functionUpgrade(this.#snapshot.functions, req, socket, head, auth, headers, this.#logger))
      return;
    const failure = await proxyUpgrade(req, socket, head, host, headers);
    if (failure) {
      this.#upstreamFailed(host.name, failure);
      writeRawAnswer(socket, edgeAnswer(failure.status, failure.reason, req.headers));
    }
  }

  #upstreamFailed(host: string, failure: ProxyFailure): void {
    this.#metrics.requests.inc({ host, result: "upstream_error" });
    this.#logger.warn(
      { event: "upstream_error", host, reason: failure.reason, detail: failure.detail },
      "origin request failed",
    );
  }

  #answer(req: EdgeRequest, res: EdgeResponse, status: number, reason: string): void {
    const answer = edgeAnswer(status, reason, req.headers);
    (res as ServerResponse)
      .writeHead(answer.status, {
        ...answer.headers,
        "content-length": String(Buffer.byteLength(answer.body)),
      })
      .end(answer.body);
  }

  /**
   * Metrics for every request, one log line per mTLS decision, and one edge event per decision: a
   * forwarded request's event is recorded when its response ends (`res`), with the status answered.
   */
  #record(req: EdgeRequest, decision: Decision, res?: EdgeResponse): void {
    if (decision.kind === "reject") {
      this.#events.record(
        requestEvent(req, authorityHost(req), null, {
          action: "reject",
          status: decision.status,
          reason: decision.reason,
        }),
      );
      const result = decision.status === 421 ? "misdirected" : "bad_request";
      this.#metrics.requests.inc({ host: "", result });
      this.#logger.info(
        {
          event: "request_rejected",
          status: decision.status,
          reason: decision.reason,
          authority: req.headers.host,
        },
        "request rejected",
      );
      return;
    }
    const { host, auth, mode } = decision;
    const denied = decision.kind === "deny";
    this.#metrics.requests.inc({ host: host.name, result: denied ? "denied" : "forwarded" });
    if (auth.failure && host.requestsCert) {
      this.#metrics.verificationFailures.inc({ host: host.name, reason: auth.failure.code });
    }
    const event = requestEvent(req, host.name, host.requestsCert ? auth : null, {
      action: decision.kind,
      status: denied ? decision.status : 101,
      reason: host.requestsCert ? (auth.failure?.code ?? null) : null,
    });
    if (denied || !res) this.#events.record(event);
    else {
      const decidedAt = Date.now();
      res.once("close", () => {
        event.status = res.headersSent ? res.statusCode : 0;
        this.#events.record(event, decidedAt);
      });
    }
    if (!host.requestsCert) return;
    (auth.cert ? withCertificate(this.#logger, auth.cert) : this.#logger).info(
      mtlsEvent(req, decision.kind === "deny" ? 403 : 0, host.name, mode, auth),
      "mtls decision",
    );
  }
}

/** The host name the request asked for (Host or :authority), for events of requests no host took. */
function authorityHost(req: EdgeRequest): string {
  const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
  return hostOf(authority) ?? "";
}

function mtlsEvent(req: EdgeRequest, status: number, host: string, mode: string, auth: RequestAuth) {
  return {
    event: "mtls_decision",
    host,
    path: req.url,
    mode,
    action: status === 403 ? "deny" : "forward",
    status: auth.verify,
    reason: auth.failure?.code ?? null,
    // With a certificate, its fingerprint, serial, subject and issuer come from withCertificate's bindings.
    ...(auth.cert ? {} : { fingerprint: null, serial: null, subject: null, issuer: null }),
    remote: req.socket.remoteAddress,
  };
}

function writeRawAnswer(socket: Duplex, answer: ReturnType<typeof edgeAnswer>): void {
  const head = [`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ""}`];
  for (const [name, value] of Object.entries(answer.headers)) head.push(`${name}: ${value}`);
  head.push(`content-length: ${Buffer.byteLength(answer.body)}`, "connection: close");
  socket.end(`${head.join("\r\n")}\r\n\r\n${answer.body}`);
}

function redirectToHttps(req: IncomingMessage, res: ServerResponse, httpsPort: number): void {
  const host = (req.headers.host ?? "").replace(/:\d+$/, "");
  if (!host || /[^\w.\-[\]:]/.test(host)) {
    res.writeHead(400, { "content-type": "text/plain" }).end("A Host header is required.\n");
    return;
  }
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  const location = `https://${host}${port}${req.url ?? "/"}`;
  res.writeHead(req.method === "GET" || req.method === "HEAD" ? 301 : 308, {
    location,
    "content-length": "0",
  });
  res.end();
}

function listenOn(
  server: net.Server,
  host: string,
  port: number,
  reusePort: boolean,
): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, reusePort, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
