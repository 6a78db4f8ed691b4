import { defaultWorkerCount, startEdge } from "../edge/supervisor.ts";
import { flagCommand } from "./command.ts";
import { UsageError } from "./errors.ts";

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
    const edge = await startEdge({ configPath, workers: flags.workers ?? defaultWorkerCount() });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await edge.stop();
    return 0;
  },
});
