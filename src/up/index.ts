/**
 * `portcullis up`: the store, the API (with the managed CAs' CRLs) and the edge in one process tree, the
 * edge fed from the store so that every write reaches it within a second.
 */
import type { Logger } from "pino";
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
    await api.listen({ host: options.api.host, port: options.api.port });
    stops.unshift(() => api.close());

    const edge = await startEdge({
      source: storeConfigSource(store, edgeBase(options), (m) => logger.warn(m)),
      workers: options.workers,
      logger,
      onApplied: () =>
        void settlePending(store).catch((err: Error) =>
          logger.warn(
            { event: "settle_failed", error: err.message },
            "cannot settle pending client certificates",
          ),
        ),
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

/**
 * Once the edge serves a Snapshot, the revocations and reactivations it was built from are in force:
 * pending_revocation → revoked, pending_reactivation → active (Cloudflare's states). Writes only when
 * something is pending, so it does not loop.
 */
async function settlePending(store: Store): Promise<void> {
  const [revoking, reactivating] = await Promise.all([
    store.listClientCertificates({ status: "pending_revocation", limit: 1000 }),
    store.listClientCertificates({ status: "pending_reactivation", limit: 1000 }),
  ]);
  if (revoking.items.length === 0 && reactivating.items.length === 0) return;
  await store.transaction(async (tx) => {
    for (const item of revoking.items)
      await tx.updateClientCertificateStatus(item.id, "revoked", item.revokedOn);
    for (const item of reactivating.items) await tx.updateClientCertificateStatus(item.id, "active", null);
  });
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

async function stopAll(stops: readonly (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const stop of stops) {
    await stop().catch((err: Error) =>
      logger.error({ event: "stop_failed", error: err.message }, "stop failed"),
    );
  }
  logger.flush();
}
