/**
 * An edge worker: owns the sockets and the Snapshot it serves. It gets the loaded config and the CRLs
 * from the supervisor (in the same process, or over cluster IPC), compiles them into a Snapshot, and
 * swaps it in. A build that fails leaves the current Snapshot serving.
 */
import type { Logger } from "pino";
import type { EdgeConfig } from "../config/types.ts";
import type { EventSink } from "../events/types.ts";
import type { CrlStatus } from "../revocation/index.ts";
import { compileSnapshot, emptyCaches, retiredOrigins, type SnapshotCaches } from "../snapshot/snapshot.ts";
import { EdgeServer } from "./edge-server.ts";
import type { EdgeMetrics } from "./metrics.ts";

/** What the supervisor sends: everything a Snapshot is built from. Structured-cloneable. */
export interface EdgeUpdate {
  config: EdgeConfig;
  crls: ReadonlyMap<string, CrlStatus>;
}

export class EdgeWorker {
  #server: EdgeServer | undefined;
  #caches: SnapshotCaches = emptyCaches();
  readonly #logger: Logger;
  readonly #metrics: EdgeMetrics;
  readonly #reusePort: boolean;
  readonly #events: EventSink | undefined;

  constructor(options: { logger: Logger; metrics: EdgeMetrics; reusePort: boolean; events?: EventSink }) {
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#reusePort = options.reusePort;
    this.#events = options.events;
  }

  /** Builds a Snapshot from `update` and serves it (starting the listeners the first time). Throws if it cannot be built. */
  async apply(update: EdgeUpdate): Promise<number> {
    const started = performance.now();
    const { snapshot, caches } = compileSnapshot(update.config, update.crls, this.#caches);
    const retired = retiredOrigins(this.#caches, caches);
    this.#caches = caches;
    if (!this.#server) {
      this.#server = new EdgeServer(snapshot, {
        logger: this.#logger,
        metrics: this.#metrics,
        reusePort: this.#reusePort,
        ...(this.#events ? { events: this.#events } : {}),
      });
      await this.#server.listen();
    } else {
      this.#server.apply(snapshot);
    }
    this.#metrics.snapshotVersion.set(snapshot.version);
    // Pools the new Snapshot no longer uses finish their requests, then close.
    for (const pool of retired) void pool.dispatcher.close().catch(() => {});
    this.#logger.debug(
      { event: "snapshot_applied", version: snapshot.version, ms: Math.round(performance.now() - started) },
      "snapshot applied",
    );
    return snapshot.version;
  }

  async close(graceMs?: number): Promise<void> {
    await this.#server?.close(graceMs);
    await Promise.all(
      [...this.#caches.origins.values()].map((pool) => pool.dispatcher.close().catch(() => {})),
    );
  }
}
