import { isIP } from "node:net";
import { buildConnector, Pool } from "undici";
import type { OriginConfig } from "../config/types.ts";

/** One origin's pooled keep-alive connections, with authenticated origin pull when configured. */
export interface OriginPool {
  readonly dispatcher: Pool;
  /** `https://127.0.0.1:9443`, no path. */
  readonly origin: string;
  /** The origin URL's path without a trailing slash ("" for none): requests go below it. */
  readonly basePath: string;
  readonly config: OriginConfig;
}

export function originPool(config: OriginConfig): OriginPool {
  const url = new URL(config.url);
  const tlsOptions =
    url.protocol === "https:"
      ? {
          rejectUnauthorized: true,
          ...(config.caPem ? { ca: config.caPem } : {}),
          ...(config.clientCert ? { cert: config.clientCert.certPem, key: config.clientCert.keyPem } : {}),
        }
      : {};
  const connector = buildConnector({ timeout: config.connectTimeoutMs, ...tlsOptions });
  // undici would take SNI (and the name it verifies) from each request's Host header, which is the
  // client's host name, not the origin's: pin it to the origin's name (none for an IP address).
  const servername = config.servername ?? (isIP(url.hostname) ? undefined : url.hostname);
  const dispatcher = new Pool(url.origin, {
    connect: (options, callback) => connector({ ...options, servername }, callback),
    headersTimeout: config.responseTimeoutMs,
    bodyTimeout: config.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  return { dispatcher, origin: url.origin, basePath: url.pathname.replace(/\/+$/, ""), config };
}
