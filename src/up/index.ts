/**
 * `portcullis up`: the store, the API (with the managed CAs' CRLs) and the edge in one process tree, the
 * edge fed from the store so that every write reaches it within a second.
 */

import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { DEFAULT_CRL_REFRESH_MS, DEFAULT_LIMITS } from "../config/defaults.ts";
import type { Address, EdgeConfig } from "../config/types.ts";
import { buildApi } from "../control/app.ts";
import { ensureBootstrapToken } from "../control/auth.ts";
import { createLogger } from "../edge/log.ts";
import { startEdge } from "../edge/supervisor.ts";
import { EventLog } from "../events/log.ts";
import { startEdgeFunctions } from "../functions/from-store.ts";
import { type EdgeBase, storeConfigSource } from "../snapshot/from-store.ts";
import { isStoreUnavailable, LastGoodConfig, LastGoodFallbackSource } from "../snapshot/last-good.ts";
import { openStore, StoreError } from "../store/index.ts";
import { loadSecretKey } from "../store/secrets.ts";
import type { Store } from "../store/types.ts";
import { type Demo, startDemo } from "./demo.ts";

/** How often `up` tries to open a store that was unreachable at start. */
const OPEN_RETRY_MS = 1000;

export interface UpOptions {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL schema of the tables (default `public`), from PORTCULLIS_DATABASE_SCHEMA. */
  databaseSchema?: string;
  edge: Address;
  api: Address;
  workers: number;
  demo: boolean;
  /** From PORTCULLIS_ADMIN_TOKEN: the first admin token, for automation. */
  adminToken?: string;
  logLevel?: string;
  /** Most CA certificates an account may upload (Cloudflare's error 1489 past it); unlimited when absent. */
  caQuota?: number;
  /** When the store was unreachable at start: called once it opened and the API listens. */
  onStoreOpened?: (late: ApiStarted) => void;
  /** How many edge events this node keeps in memory for the API (default 10,000). */
  eventCapacity?: number;
}

/** What starts with the store: the API, the first admin token, the demo. */
export interface ApiStarted {
  apiUrl: string;
  /** Set only when this start created the first admin token. */
  bootstrapToken: string | undefined;
  demo: Demo | undefined;
}

export interface Up extends ApiStarted {
  edgePort: number;
  /**
   * Undefined when the store opened at start. Otherwise the last good config file the edge serves: the
   * API starts (and `onStoreOpened` is called) once the store opens; it is tried every second.
   */
  servingLastGood: string | undefined;
  stop(): Promise<void>;
}

export async function startUp(options: UpOptions): Promise<Up> {
  const logger = createLogger(options.logLevel ?? "info");
  const key = await secretKey(options.dataDir);
  const lastGood = new LastGoodConfig(options.dataDir, key);
  // The edge's events, in memory on this node: the workers feed it, the API reads it.
  const events = new EventLog(options.eventCapacity !== undefined ? { capacity: options.eventCapacity } : {});
  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  // Also what the late start adds while (or after) stopping.
  const drain = async () => {
    while (stops.length > 0) await stopAll(stops.splice(0), logger);
  };
  const stop = async () => {
    stopped = true;
    await drain();
  };
  try {
    let store: Store | undefined;
    try {
      store = await open(options, key);
      stops.push(() => (store as Store).close());
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      if ((await lastGood.read()) === undefined) {
        throw new StoreError(
          "unavailable",
          `${(error as Error).message}; and there is no last good config (${lastGood.path}) to start the edge from`,
        );
      }
    }

    const base = edgeBase(options);
    const warn = (message: string) => logger.warn({ event: "edge_config" }, message);
    const source = new LastGoodFallbackSource(
      { lastGood, base, warn },
      store && storeConfigSource(store, base, warn),
    );
    let current = store;
    const started = store ? await startApi(store, options, logger, stops, events) : undefined;
    const functions = await startEdgeFunctions({ logger, dataDir: options.dataDir });
    stops.push(() => functions.stop());
    const edge = await startEdge({
      source: functions.wrap(source),
      workers: options.workers,
      logger,
      events,
      onApplied: (config) => {
        functions.applied(config);
        applied(config, current, lastGood, logger);
      },
    });
    stops.unshift(edge.stop);

    if (!store) {
      // The edge serves the last good config; the store, the API and the reloads follow once it opens.
      void (async () => {
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_MS));
          if (stopped) return;
          let late: Store;
          try {
            late = await open(options, key);
          } catch (error) {
            if (isStoreUnavailable(error)) continue;
            logger.error(
              { event: "store_open_failed", error: (error as Error).message },
              "cannot open the store",
            );
            return;
          }
          if (stopped) return void (await late.close());
          const opened = late;
          stops.push(() => opened.close());
          current = late;
          logger.warn({ event: "store_opened" }, "store available; the edge follows it again");
          source.use(storeConfigSource(late, base, warn));
          try {
            options.onStoreOpened?.(await startApi(late, options, logger, stops, events));
          } catch (error) {
            logger.error({ event: "api_failed", error: (error as Error).message }, "cannot start the API");
          }
          if (stopped) await drain();
          return;
        }
      })();
    }

    return {
      apiUrl: started?.apiUrl ?? apiUrl(options.api.host, options.api.port),
      bootstrapToken: started?.bootstrapToken,
      demo: started?.demo,
      edgePort: options.edge.port,
      servingLastGood: store ? undefined : lastGood.path,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function open(options: UpOptions, secretKey: Buffer): Promise<Store> {
  return openStore({
    dataDir: options.dataDir,
    secretKey,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.databaseSchema ? { schema: options.databaseSchema } : {}),
  });
}

/** The store's secret key (which also seals the last good config): the data directory may not exist yet. */
async function secretKey(dataDir: string): Promise<Buffer> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new StoreError(
      "unavailable",
      `cannot create the data directory ${dataDir}: ${(error as Error).message}`,
    );
  }
  return loadSecretKey({ dataDir });
}

/** The first admin token, the demo and the API, on an open store; their stops go first into `stops`. */
async function startApi(
  store: Store,
  options: UpOptions,
  logger: Logger,
  stops: (() => Promise<void>)[],
  events: EventLog,
): Promise<ApiStarted> {
  const bootstrapToken = await ensureBootstrapToken(store, options.adminToken);
  const demo = options.demo ? await startDemo(store, options.dataDir) : undefined;
  if (demo) stops.unshift(demo.stopOrigin);
  const api = buildApi({
    store,
    logger,
    ...(options.caQuota !== undefined ? { caQuota: options.caQuota } : {}),
    events,
  });
  await api.listen({ host: options.api.host, port: options.api.port });
  stops.unshift(() => api.close());
  const address = api.server.address();
  const port = typeof address === "object" && address ? address.port : options.api.port;
  return { apiUrl: apiUrl(options.api.host, port), bootstrapToken, demo };
}

function apiUrl(host: string, port: number): string {
  return `http://${host}:${port}/client/v4`;
}

/**
 * The edge serves `config`: if it came from the store, keep it as the last good config and settle the
 * revocations it enforces. (A config from the last good file enforces nothing new.)
 */
function applied(
  config: EdgeConfig,
  store: Store | undefined,
  lastGood: LastGoodConfig,
  logger: Logger,
): void {
  if (config.file !== "store" || !store) return;
  lastGood
    .save(config)
    .catch((err: Error) =>
      logger.warn({ event: "last_good_failed", error: err.message }, "cannot write the last good config"),
    );
  settlePending(store).catch((err: Error) =>
    logger.warn({ event: "settle_failed", error: err.message }, "cannot settle pending client certificates"),
  );
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

/** What `up` decides for its edge; the rest comes from the store (or the last good file). */
export function edgeBase(options: Pick<UpOptions, "edge" | "dataDir" | "logLevel">): EdgeBase {
  return {
    listen: { https: options.edge },
    dataDir: options.dataDir,
    log: { level: (options.logLevel ?? "info") as EdgeBase["log"]["level"] },
    crlRefreshIntervalMs: DEFAULT_CRL_REFRESH_MS,
    limits: { ...DEFAULT_LIMITS },
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
