#!/usr/bin/env node
import { ConfigError } from "../config/errors.ts";
import { PkiError } from "../pki/errors.ts";
import { StoreError } from "../store/types.ts";
import { apiCommands } from "./api/index.ts";
import { commandGroup, lazyCommand } from "./command.ts";
import { UsageError } from "./errors.ts";
import { pkiCommand } from "./pki/index.ts";
import { tourCommand } from "./tour.ts";

const root = commandGroup("", "portcullis", "Portcullis: a self-hosted mutual-TLS edge.", [
  pkiCommand,
  lazyCommand(
    "edge",
    "Run the mTLS edge from a config file (docs/config.md)",
    async () => (await import("./edge.ts")).edgeCommand,
  ),
  lazyCommand(
    "up",
    "Run the control plane (API) and the edge on the embedded store",
    async () => (await import("./up.ts")).upCommand,
  ),
  tourCommand,
  ...apiCommands(),
]);

/** Runs the CLI; every failure becomes one line on stderr and a non-zero exit code, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const name = argv[0] && !argv[0].startsWith("-") ? `portcullis ${argv[0]}` : "portcullis";
  try {
    if (argv[0] === "--version" || argv[0] === "version") {
      process.stdout.write(`portcullis ${await version()}\n`);
      return 0;
    }
    return await root.run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${name}: ${err.message} (run with -h for usage)\n`);
      return 2;
    }
    if (err instanceof PkiError || err instanceof ConfigError || err instanceof StoreError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      return 1;
    }
    const detail = process.env.PORTCULLIS_DEBUG ? (err as Error).stack : (err as Error).message;
    process.stderr.write(`${name}: internal error: ${detail}\n`);
    return 70;
  }
}

async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
  return pkg.version as string;
}

if (import.meta.main) {
  // stdout may be a closed pipe (`| head`): that is not an error worth a stack trace.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });
  process.exitCode = await main(process.argv.slice(2));
}
