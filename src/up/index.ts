/**
 * `portcullis up`: the store, the API (with the managed CAs' CRLs) and the edge in one process tree, the
 * edge fed from the store so that every write reaches it within a second.
 */
import type { Logger } from "pino";
import { managedCrl } from "../ca/managed.ts";
import type { Address } from "../config/types.ts";
import { buildApi } from "../control/app.ts";
import { ensureBootstrapToken } from "../control/auth.ts";
import { createLogger } from "../edge/log.ts";
import { startEdge } from "../edge/supervisor.ts";
import { type EdgeBase, storeConfigSource } from "../snapshot/from-store.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/types.ts";
import { type Demo, startDemo } from "./demo.ts";

export interface UpOptions {
  dataDir: string;
  databaseUrl?: string;
  edge: Address;
  api: Address;
  workers: number;
  demo: boolean;
  /** From PORTCULLIS_ADMIN_TOKEN: the first admin token, for automation. */
  adminToken?: string;
  logLevel?: string;
}

export interface Up {
  apiUrl: string;
  edgePort: number;
  /** Set only when this start created the first admin token. */
  bootstrapToken: string | undefined;
  demo: Demo | undefined;
  stop(): Promise<void>;
}

export async function startUp(options: UpOptions): Promise<Up> {
  const logger = createLogger(options.logLevel ?? "info");
  const store = await openStore({
    dataDir: options.dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  });
  const stops: (() => Promise<void>)[] = [() => store.close()];
  try {
    const bootstrapToken = await ensureBootstrapToken(store, options.adminToken);
    const demo = options.demo ? await startDemo(store, options.dataDir) : undefined;
    if (demo) stops.unshift(demo.stopOrigin);

    const api = buildApi({ store, logger });
    api.get("/crl/:zoneId", async (request, reply) =>
      crlResponse(store, (request.params as { zoneId: string }).zoneId, reply),
    );
    await api.listen({ host: options.api.host, port: options.api.port });
    stops.unshift(() => api.close());

    const edge = await startEdge({
      source: storeConfigSource(store, edgeBase(options), (m) => logger.warn(m)),
      workers: options.workers,
      logger,
    });
    stops.unshift(edge.stop);
    const address = api.server.address();
    const apiPort = typeof address === "object" && address ? address.port : options.api.port;
    return {
      apiUrl: `http://${options.api.host}:${apiPort}/client/v4`,
      edgePort: options.edge.port,
      bootstrapToken,
      demo,
      stop: () => stopAll(stops, logger),
    };
  } catch (err) {
    await stopAll(stops, logger);
    throw err;
  }
}

function edgeBase(options: UpOptions): EdgeBase {
  return {
    listen: { https: options.edge },
    dataDir: options.dataDir,
    log: { level: (options.logLevel ?? "info") as EdgeBase["log"]["level"] },
    crlRefreshIntervalMs: 300_000,
    limits: {
      clientHelloMaxBytes: 16_384,
      clientHelloTimeoutMs: 10_000,
      handshakeTimeoutMs: 10_000,
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 60_000,
    },
  };
}

/** A zone's managed-CA CRL at a stable public URL (`/crl/<zone_id>`), DER, as CRL distribution points serve them. */
async function crlResponse(
  store: Store,
  zoneId: string,
  reply: { code(n: number): unknown; header(k: string, v: string): unknown; send(b: unknown): unknown },
) {
  const ca = await store.getManagedCa(zoneId.replace(/\.crl$/, ""));
  const key = ca ? await store.secretKeyPem({ kind: "managed_ca", id: ca.id }) : undefined;
  if (!ca || !key) {
    reply.code(404);
    return {
      success: false,
      errors: [{ code: 1404, message: "no managed CA for this zone" }],
      messages: [],
      result: null,
    };
  }
  const revoked = [];
  for (const status of ["revoked", "pending_revocation"] as const) {
    revoked.push(
      ...(await store.listClientCertificates({ zoneId: ca.zoneId, status, limit: 100_000 })).items,
    );
  }
  const crl = await managedCrl(ca, key, revoked);
  reply.header("content-type", "application/pkix-crl");
  reply.header("cache-control", "max-age=60");
  return reply.send(crl.der);
}

async function stopAll(stops: readonly (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const stop of stops) {
    await stop().catch((err: Error) =>
      logger.error({ event: "stop_failed", error: err.message }, "stop failed"),
    );
  }
  logger.flush();
}
