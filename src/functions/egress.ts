/**
 * The egress server behind `env.MY_CERT.fetch()`: an HTTP server on loopback that each function's workerd
 * reaches through one external service per mTLS binding (proxy style, so the full URL arrives). workerd
 * adds that binding's random secret to every request; the secret alone selects the certificate, so a
 * function can use only the certificates bound to it. The request then goes out over HTTPS presenting
 * the certificate and verifying the origin (system roots plus the configured extra CAs).
 */
import { randomBytes } from "node:crypto";
import dns, { type LookupAddress, type LookupOptions } from "node:dns";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, isIP } from "node:net";
import { pipeline } from "node:stream/promises";
import tls from "node:tls";
import { Agent } from "undici";
import { EGRESS_SECRET_HEADER } from "./workerd-config.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  EGRESS_SECRET_HEADER,
]);

interface Binding {
  script: string;
  binding: string;
  certificateId: string;
  /** Undefined when the certificate or its key is gone. */
  agent: Agent | undefined;
}

export interface EgressFailure {
  script: string;
  binding: string;
  url: string;
  error: string;
}

export class EgressServer {
  readonly #server: http.Server;
  readonly #bindings = new Map<string, Binding>();
  readonly #onFailure: (failure: EgressFailure) => void;
  readonly #allowed: (address: string) => boolean;
  #address = "";

  /** `allowed` judges each destination address (after DNS), as the function's outbound allow list does. */
  constructor(
    onFailure: (failure: EgressFailure) => void = () => {},
    allowed: (address: string) => boolean = () => true,
  ) {
    this.#onFailure = onFailure;
    this.#allowed = allowed;
    // Proxy-style requests carry the URL in the request line and no Host header.
    this.#server = http.createServer({ requireHostHeader: false }, (req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
  }

  /** Listens on a free loopback port; returns `127.0.0.1:PORT`. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => resolve());
    });
    this.#address = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#address;
  }

  get address(): string {
    return this.#address;
  }

  /** A new binding; returns its secret (what workerd must send). */
  register(
    script: string,
    binding: string,
    certificateId: string,
    pair: { certPem: string; keyPem: string } | undefined,
    trustedCasPem: readonly string[],
  ): string {
    const secret = randomBytes(32).toString("base64url");
    const agent = pair
      ? new Agent({
          connect: {
            cert: pair.certPem,
            key: pair.keyPem,
            ca: [...tls.rootCertificates, ...trustedCasPem],
            rejectUnauthorized: true,
            timeout: 10_000,
            lookup: this.#lookup,
          },
          keepAliveTimeout: 10_000,
        })
      : undefined;
    this.#bindings.set(secret, { script, binding, certificateId, agent });
    return secret;
  }

  unregister(secret: string): void {
    const binding = this.#bindings.get(secret);
    this.#bindings.delete(secret);
    void binding?.agent?.close().catch(() => {});
  }

  async close(): Promise<void> {
    for (const secret of [...this.#bindings.keys()]) this.unregister(secret);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** dns.lookup, keeping only the addresses the allow list admits (net.connect asks for all of them). */
  readonly #lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const allowed = addresses.filter((entry) => this.#allowed(entry.address));
      const first = allowed[0];
      if (!first) {
        const refused = new Error(
          `${hostname} (${addresses.map((a) => a.address).join(", ")}) is not an allowed destination (PORTCULLIS_FUNCTIONS_OUTBOUND)`,
        ) as NodeJS.ErrnoException;
        refused.code = "EACCES";
        return callback(refused, "");
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secret = req.headers[EGRESS_SECRET_HEADER];
    const binding = typeof secret === "string" ? this.#bindings.get(secret) : undefined;
    if (!binding) return answer(res, 403, "unknown_binding", "This binding is not known here.");
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      return answer(res, 400, "bad_url", "The binding's request carries no absolute URL.");
    }
    if (url.protocol !== "https:") {
      return answer(
        res,
        400,
        "https_only",
        `${binding.binding}.fetch() sends its certificate over https:// only.`,
      );
    }
    const literal = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (isIP(literal) && !this.#allowed(literal)) {
      return answer(
        res,
        403,
        "destination_not_allowed",
        `${url.hostname} is not an allowed destination (PORTCULLIS_FUNCTIONS_OUTBOUND)`,
      );
    }
    if (!binding.agent) {
      return answer(
        res,
        502,
        "certificate_missing",
        `mTLS certificate ${binding.certificateId} of binding ${binding.binding} no longer exists or has no private key.`,
      );
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const hasBody =
      req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    let response: Awaited<ReturnType<Agent["request"]>>;
    try {
      response = await binding.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: (req.method ?? "GET") as "GET",
        headers,
        body: hasBody ? req : null,
      });
    } catch (err) {
      const error = describe(err);
      this.#onFailure({ script: binding.script, binding: binding.binding, url: url.origin, error });
      return answer(res, 502, "egress_error", `${binding.binding}.fetch(${url.origin}) failed: ${error}`);
    }
    const outgoing: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) outgoing[name] = value;
    }
    res.writeHead(response.statusCode, outgoing);
    try {
      await pipeline(response.body, res);
    } catch {
      res.destroy();
    }
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const inner = e.cause ?? e;
  return [inner.code, inner.message].filter(Boolean).join(": ") || String(err);
}

function answer(res: ServerResponse, status: number, reason: string, message: string): void {
  res
    .writeHead(status, {
      "content-type": "text/plain; charset=utf-8",
      "x-portcullis-reason": reason,
      "content-length": String(Buffer.byteLength(message) + 1),
    })
    .end(`${message}\n`);
}
