/**
 * `portcullis edge`: loads and validates the config, keeps the CRLs fresh, and feeds every worker the
 * same update. Reloads on SIGHUP and when the config file changes; a config that fails to load or to
 * compile is refused (logged, counted) and the old one keeps serving. Serves /metrics, /healthz and
 * /readyz on the admin address.
 */
import cluster, { type Worker } from "node:cluster";
import { watch } from "node:fs";
import http from "node:http";
import { availableParallelism } from "node:os";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import { AggregatorRegistry } from "prom-client";
import { ConfigError } from "../config/errors.ts";
import { loadEdgeConfig } from "../config/load.ts";
import type { EdgeConfig } from "../config/types.ts";
import { EventBatcher } from "../events/batch.ts";
import { EVENTS_ENV, type EventBatchReceiver } from "../events/types.ts";
import { fromWire, type WireBatch } from "../events/wire.ts";
import { CrlManager, sourceKey } from "../revocation/index.ts";
import { compileSnapshot } from "../snapshot/snapshot.ts";
import { createLogger } from "./log.ts";
import { createEdgeMetrics, createSupervisorMetrics, type SupervisorMetrics } from "./metrics.ts";
import { type EdgeUpdate, EdgeWorker } from "./worker.ts";

/** Where the edge's config comes from: a YAML file, or the control plane's store. */
export interface EdgeConfigSource {
  /** How messages name it: the file as the user gave it, or "the store". */
  readonly name: string;
  load(): Promise<EdgeConfig>;
  /** Calls `onChange(why)` whenever the config may have changed; returns the function that stops it. */
  watch(onChange: (why: string) => void): () => void;
}

export interface EdgeOptions {
  source: EdgeConfigSource;
  workers: number;
  logger?: Logger;
  /** Called after every worker serves a new Snapshot of `config` (e.g. to mark revocations as enforced). */
  onApplied?: (config: EdgeConfig) => void;
  /** Takes the workers' edge events (the EventLog of src/events/); without it workers record none. */
  events?: EventBatchReceiver;
}

/** A YAML config file: reloaded when the file changes (even if saved by rename) and on SIGHUP. */
export function fileConfigSource(path: string): EdgeConfigSource {
  return {
    name: path,
    load: () => loadEdgeConfig(path),
    watch(onChange) {
      const stopWatching = watchFile(path, () => onChange("config file changed"));
      const onHangup = () => onChange("SIGHUP");
      process.on("SIGHUP", onHangup);
      return () => {
        stopWatching();
        process.off("SIGHUP", onHangup);
      };
    },
  };
}

/** Messages between the supervisor and cluster workers. */
type ToWorker = { type: "update"; id: number; update: EdgeUpdate } | { type: "shutdown" };
type FromWorker =
  | { type: "applied"; id: number; version: number }
  | { type: "failed"; id: number; error: string }
  | { type: "events"; batch: WireBatch };

export function defaultWorkerCount(): number {
  return availableParallelism();
}

/** Starts the edge. Resolves once every worker serves the first Snapshot; throws ConfigError on a bad config. */
export async function startEdge(options: EdgeOptions): Promise<{ stop: () => Promise<void> }> {
  const config = await options.source.load();
  const logger = options.logger ?? createLogger(config.log.level);
  const supervisor = new Supervisor(options, config, logger, createSupervisorMetrics());
  await supervisor.start();
  return { stop: () => supervisor.stop() };
}

class Supervisor {
  #config: EdgeConfig;
  #crls: CrlManager;
  readonly #options: EdgeOptions;
  readonly #logger: Logger;
  readonly #metrics: SupervisorMetrics;
  /** The in-process worker's metrics, when there are no worker processes. */
  readonly #localMetrics = createEdgeMetrics();
  readonly #targets: WorkerTarget[] = [];
  #admin: http.Server | undefined;
  #ready = false;
  #reloading: Promise<void> = Promise.resolve();
  #stopWatching: (() => void) | undefined;

  constructor(options: EdgeOptions, config: EdgeConfig, logger: Logger, metrics: SupervisorMetrics) {
    this.#options = options;
    this.#config = config;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#crls = this.#crlManager(config);
  }

  async start(): Promise<void> {
    await this.#loadCrls(this.#crls, this.#config);
    this.#validate(this.#config);
    const count = Math.max(1, this.#options.workers);
    for (let i = 0; i < count; i++) {
      const events = this.#options.events;
      this.#targets.push(
        count === 1
          ? new LocalTarget(this.#logger, this.#localMetrics, events)
          : new ClusterTarget(this.#logger, events),
      );
    }
    await this.#broadcast();
    this.#crls.start();
    this.#admin = await this.#startAdmin();
    this.#stopWatching = this.#options.source.watch((why) => void this.reload(why));
    this.#ready = true;
    const { https, http: plain } = this.#config.listen;
    this.#logger.info(
      {
        event: "edge_started",
        https: `${https.host}:${https.port}`,
        http: plain ? `${plain.host}:${plain.port}` : null,
        admin: this.#config.admin ? `${this.#config.admin.host}:${this.#config.admin.port}` : null,
        workers: count,
        hosts: this.#config.hosts.map((host) => host.hostname),
      },
      "edge started",
    );
  }

  /** Loads the config again; applies it only if it loads, its CRLs load and its Snapshot compiles. */
  reload(why: string): Promise<void> {
    this.#reloading = this.#reloading.then(async () => {
      try {
        const config = await this.#options.source.load();
        // The same CRL sources and CAs: keep the CRLs as they are (no refetch on every store write).
        const sameCrls = crlInputs(config) === crlInputs(this.#config);
        const crls = sameCrls ? this.#crls : this.#crlManager(config);
        if (!sameCrls) await this.#loadCrls(crls, config);
        this.#validate(config, crls);
        if (JSON.stringify(config.listen) !== JSON.stringify(this.#config.listen)) {
          this.#logger.warn({ event: "config_listen_changed" }, "listen addresses change only on restart");
        }
        const old = this.#crls;
        this.#config = config;
        this.#crls = crls;
        await this.#broadcast();
        if (crls !== old) {
          crls.start();
          await old.stop();
        }
        this.#metrics.configReloads.inc({ result: "applied" });
        this.#logger.info({ event: "config_reloaded", why }, "config reloaded");
      } catch (err) {
        this.#metrics.configReloads.inc({ result: "refused" });
        this.#logger.error(
          { event: "config_refused", why, error: (err as Error).message },
          "new config refused; the old one keeps serving",
        );
      }
    });
    return this.#reloading;
  }

  async stop(): Promise<void> {
    this.#stopWatching?.();
    await this.#crls.stop();
    await Promise.all(this.#targets.map((target) => target.stop()));
    await new Promise<void>((resolve) => (this.#admin ? this.#admin.close(() => resolve()) : resolve()));
    this.#logger.flush();
  }

  #crlManager(config: EdgeConfig): CrlManager {
    const manager = new CrlManager({
      dataDir: config.dataDir,
      refreshIntervalMs: config.crlRefreshIntervalMs,
      log: (level, msg, fields) => {
        this.#logger[level]({ event: "crl", ...fields }, msg);
        const source = (fields as { source?: string }).source;
        if (level !== "info" && source)
          this.#metrics.crlFetchErrors.inc({ source: source.replace(/^(file|url):/, "") });
      },
    });
    manager.on("change", () => {
      if (manager !== this.#crls) return;
      this.#logger.info({ event: "crl_changed" }, "CRL changed; rebuilding the Snapshot");
      this.#reloading = this.#reloading.then(() => this.#broadcast().catch(() => {}));
    });
    return manager;
  }

  async #loadCrls(manager: CrlManager, config: EdgeConfig): Promise<void> {
    try {
      await manager.load(config.hosts);
    } catch (err) {
      throw new ConfigError({ file: this.#options.source.name, detail: (err as Error).message });
    }
  }

  /** Compiles once here, so an update that OpenSSL would refuse never reaches a worker. */
  #validate(config: EdgeConfig, crls: CrlManager = this.#crls): void {
    try {
      const { caches } = compileSnapshot(config, crls.status());
      for (const pool of caches.origins.values()) void pool.dispatcher.close();
    } catch (err) {
      throw new ConfigError({ file: this.#options.source.name, detail: (err as Error).message });
    }
  }

  async #broadcast(): Promise<void> {
    const update: EdgeUpdate = { config: this.#config, crls: this.#crls.status() };
    this.#recordCrlMetrics();
    await Promise.all(this.#targets.map((target) => target.apply(update)));
    this.#options.onApplied?.(this.#config);
  }

  #recordCrlMetrics(): void {
    const now = Date.now();
    for (const host of this.#config.hosts) {
      for (const source of host.mtls.crls) {
        const label = source.kind === "file" ? source.path : source.url;
        const status = this.#crls.status().get(sourceKey(source));
        if (!status?.ok) {
          this.#metrics.crlStale.set({ source: label }, 1);
          continue;
        }
        const { crl } = status;
        this.#metrics.crlEntries.set({ source: label }, crl.serials.size);
        this.#metrics.crlAgeSeconds.set({ source: label }, Math.round((now - crl.thisUpdateMs) / 1000));
        this.#metrics.crlStale.set(
          { source: label },
          crl.nextUpdateMs !== null && now > crl.nextUpdateMs ? 1 : 0,
        );
      }
    }
  }

  async #startAdmin(): Promise<http.Server | undefined> {
    const address = this.#config.admin;
    if (!address) return undefined;
    const clusterRegistry = this.#targets.some((t) => t instanceof ClusterTarget)
      ? new AggregatorRegistry()
      : null;
    const server = http.createServer(async (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      if (path === "/readyz") {
        const ready = this.#ready && this.#targets.every((t) => t.ready);
        return void res
          .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
          .end(ready ? "ready\n" : "not ready\n");
      }
      if (path === "/metrics") {
        this.#recordCrlMetrics();
        const own = await this.#metrics.registry.metrics();
        const workers = clusterRegistry
          ? await clusterRegistry.clusterMetrics().catch(() => "")
          : await this.#localMetrics.registry.metrics();
        return void res
          .writeHead(200, { "content-type": this.#metrics.registry.contentType })
          .end(`${own}\n${workers}`);
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host, () => resolve());
    });
    return server;
  }
}

/** Where updates go: an EdgeWorker in this process, or one in a cluster worker process. */
interface WorkerTarget {
  readonly ready: boolean;
  apply(update: EdgeUpdate): Promise<void>;
  stop(): Promise<void>;
}

class LocalTarget implements WorkerTarget {
  ready = false;
  readonly #worker: EdgeWorker;
  readonly #events: EventBatcher | undefined;
  constructor(logger: Logger, metrics: ReturnType<typeof createEdgeMetrics>, events?: EventBatchReceiver) {
    // Same process: batches go straight to the receiver, no IPC.
    this.#events = events ? new EventBatcher((batch) => events.add(batch)) : undefined;
    this.#worker = new EdgeWorker({
      logger,
      metrics,
      reusePort: false,
      ...(this.#events ? { events: this.#events } : {}),
    });
  }
  async apply(update: EdgeUpdate): Promise<void> {
    await this.#worker.apply(update);
    this.ready = true;
  }
  async stop(): Promise<void> {
    await this.#worker.close();
    this.#events?.flush();
  }
}

let nextMessageId = 1;

class ClusterTarget implements WorkerTarget {
  ready = false;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(logger: Logger, events?: EventBatchReceiver) {
    // Map and Set (CRL serials) cross the IPC channel as they are.
    cluster.setupPrimary({
      serialization: "advanced",
      exec: new URL("./cluster-worker.ts", import.meta.url).pathname,
    });
    this.#worker = cluster.fork(events ? { [EVENTS_ENV]: "1" } : {});
    this.#worker.on("message", (message: FromWorker) => {
      if (message.type === "events") {
        events?.add(fromWire(message.batch));
        return;
      }
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.type === "applied") pending.resolve();
      else pending.reject(new Error(message.error));
    });
    this.#worker.on("exit", (code) => {
      this.ready = false;
      for (const pending of this.#pending.values()) pending.reject(new Error(`worker exited with ${code}`));
      this.#pending.clear();
      logger.error({ event: "worker_exit", code }, "edge worker exited");
    });
  }

  apply(update: EdgeUpdate): Promise<void> {
    const id = nextMessageId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: () => {
          this.ready = true;
          resolve();
        },
        reject,
      });
      this.#worker.send({ type: "update", id, update } satisfies ToWorker);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#worker.isDead()) return resolve();
      this.#worker.once("exit", () => resolve());
      this.#worker.send({ type: "shutdown" } satisfies ToWorker);
    });
  }
}

/** What the CRL manager's work depends on: each host's CRL sources and the CAs that verify them. */
function crlInputs(config: EdgeConfig): string {
  return JSON.stringify(config.hosts.map((host) => [host.mtls.crls, host.mtls.trustedCasPem]));
}

/** Watches a file through its directory, so editors that save by rename are seen too. Debounced. */
function watchFile(file: string, onChange: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dirname(file), (_event, name) => {
    if (name !== basename(file)) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, 150);
  });
  watcher.on("error", () => {});
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

export type { FromWorker, ToWorker };
