/** Entry point of a cluster worker process: serves whatever the supervisor sends. */
import { AggregatorRegistry } from "prom-client";
import { EventBatcher } from "../events/batch.ts";
import { EVENTS_ENV } from "../events/types.ts";
import { toWire } from "../events/wire.ts";
import { createLogger } from "./log.ts";
import { createEdgeMetrics } from "./metrics.ts";
import type { FromWorker, ToWorker } from "./supervisor.ts";
import { EdgeWorker } from "./worker.ts";

const metrics = createEdgeMetrics();
// The supervisor's AggregatorRegistry asks each worker for this registry's metrics over IPC; creating one
// here is what makes prom-client answer those requests.
new AggregatorRegistry();
AggregatorRegistry.setRegistries([metrics.registry]);
let logger = createLogger("info");
// Edge events go to the supervisor in batches (every 100 ms or 256 events), when it takes them.
const events =
  process.env[EVENTS_ENV] === "1"
    ? new EventBatcher((batch) =>
        process.send?.({ type: "events", batch: toWire(batch) } satisfies FromWorker),
      )
    : undefined;
// Several workers bind the same port; the kernel spreads new connections among them.
const worker = new EdgeWorker({ logger, metrics, reusePort: true, ...(events ? { events } : {}) });

process.on("message", async (message: ToWorker) => {
  if (message.type === "shutdown") {
    await worker.close();
    events?.flush();
    logger.flush();
    process.exit(0);
  }
  if (message.type !== "update") return;
  if (logger.level !== message.update.config.log.level)
    logger = createLogger(message.update.config.log.level);
  let reply: FromWorker;
  try {
    reply = { type: "applied", id: message.id, version: await worker.apply(message.update) };
  } catch (err) {
    reply = { type: "failed", id: message.id, error: (err as Error).message };
  }
  process.send?.(reply);
});
