import { defaultWorkerCount, fileConfigSource, startEdge } from "../edge/supervisor.ts";
import { flagCommand } from "./command.ts";
import { UsageError } from "./errors.ts";

const STOP_DEADLINE_MS = 15_000;

/** `portcullis edge --config portcullis.yaml [--workers N]`: serves until SIGINT or SIGTERM. */
export const edgeCommand = flagCommand("portcullis", {
  name: "edge",
  summary: "Run the mTLS edge from a config file (docs/config.md)",
  synopsis: "--config portcullis.yaml [--workers N]",
  description:
    "Terminates TLS per hostname, asks for and verifies client certificates where configured, and proxies to\n" +
    "each host's origin. Reloads on SIGHUP and when the config file changes; stops gracefully on SIGTERM.",
  flags: {
    config: { type: "string", usage: "the edge config file (YAML; default portcullis.yaml)", arg: "FILE" },
    workers: { type: "int", usage: "worker processes (default: one per core)", arg: "N" },
  },
  async run(flags) {
    if (flags.workers !== undefined && flags.workers < 1) throw new UsageError("--workers must be 1 or more");
    const configPath = flags.config ?? "portcullis.yaml";
    const edge = await startEdge({
      source: fileConfigSource(configPath),
      workers: flags.workers ?? defaultWorkerCount(),
    });
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    // In-flight requests get the grace period; a second signal, or a stop that hangs, ends it at once.
    const force = () => process.exit(0);
    process.once("SIGINT", force);
    process.once("SIGTERM", force);
    setTimeout(force, STOP_DEADLINE_MS).unref();
    await edge.stop();
    process.exit(0);
  },
});
