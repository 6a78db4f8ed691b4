import type { Address } from "../config/types.ts";
import { address } from "../config/values.ts";
import { DEMO_HOSTNAME } from "../up/demo.ts";
import { type ApiStarted, startUp } from "../up/index.ts";
import { flagCommand } from "./command.ts";
import { UsageError } from "./errors.ts";

/** `portcullis up`: API, edge and store in one command; `--demo` seeds a working example. */
export const upCommand = flagCommand("portcullis", {
  name: "up",
  summary: "Run the control plane (API) and the edge on the embedded store",
  synopsis:
    "[--data DIR] [--database-url postgres://…] [--edge HOST:PORT] [--api HOST:PORT] [--workers N] [--demo]",
  description:
    "Starts the REST API (Cloudflare v4-shaped, under /client/v4) and the mTLS edge, both on one store:\n" +
    "SQLite in the data directory, or PostgreSQL with --database-url. Every write reaches the edge within a second.\n" +
    "Environment: PORTCULLIS_DATA_DIR, PORTCULLIS_DATABASE_URL, PORTCULLIS_EDGE_LISTEN, PORTCULLIS_API_LISTEN,\n" +
    "PORTCULLIS_ADMIN_TOKEN (the first admin token), PORTCULLIS_SECRET_KEY (encrypts private keys at rest),\n" +
    "PORTCULLIS_DATABASE_SCHEMA (PostgreSQL schema of the tables, default public).\n" +
    "The last config the edge served is kept (encrypted) in DATA/last-good-edge.json.enc: while the database\n" +
    "is down, the edge starts and serves from it.",
  flags: {
    data: { type: "string", usage: "data directory (default ./data)", arg: "DIR" },
    "database-url": {
      type: "string",
      usage: "PostgreSQL URL, for several nodes (default: SQLite in the data directory)",
      arg: "URL",
    },
    edge: { type: "string", usage: "edge HTTPS address (default 127.0.0.1:8443)", arg: "HOST:PORT" },
    api: { type: "string", usage: "API and dashboard address (default 127.0.0.1:9000)", arg: "HOST:PORT" },
    workers: { type: "int", usage: "edge worker processes (default 1)", arg: "N" },
    "ca-quota": {
      type: "int",
      usage: "most CA certificates per account (default: no limit; Cloudflare's is 5)",
      arg: "N",
    },
    demo: { type: "bool", usage: "seed a demo zone, managed CA, client certificate and app.localhost" },
    events: {
      type: "int",
      usage: "edge events kept in memory for the API's events and live tail (default 10000)",
      arg: "N",
    },
  },
  async run(flags) {
    const env = process.env;
    const dataDir = flags.data ?? env.PORTCULLIS_DATA_DIR ?? "data";
    const databaseUrl = flags["database-url"] ?? env.PORTCULLIS_DATABASE_URL;
    const edge = listenAddress("--edge", flags.edge ?? env.PORTCULLIS_EDGE_LISTEN ?? "127.0.0.1:8443");
    const up = await startUp({
      dataDir,
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(env.PORTCULLIS_DATABASE_SCHEMA ? { databaseSchema: env.PORTCULLIS_DATABASE_SCHEMA } : {}),
      edge,
      api: listenAddress("--api", flags.api ?? env.PORTCULLIS_API_LISTEN ?? "127.0.0.1:9000"),
      workers: flags.workers ?? 1,
      demo: flags.demo,
      ...(flags["ca-quota"] !== undefined ? { caQuota: caQuota(flags["ca-quota"]) } : {}),
      ...(flags.events !== undefined ? { eventCapacity: eventCapacity(flags.events) } : {}),
      ...(env.PORTCULLIS_ADMIN_TOKEN ? { adminToken: env.PORTCULLIS_ADMIN_TOKEN } : {}),
      logLevel: "warn",
      onStoreOpened: (late) => {
        const lines = [
          "",
          `The database is reachable: the edge follows the store again. API: ${late.apiUrl}`,
        ];
        lines.push(...apiLines(late, edge.port), "");
        process.stdout.write(lines.join("\n"));
      },
    });
    const lines = up.servingLastGood
      ? [
          `Portcullis is up. Edge: https://127.0.0.1:${up.edgePort}`,
          `The database is unreachable: the edge serves the last good config (${up.servingLastGood});`,
          `the API (${up.apiUrl}) starts once the database answers (tried every second).`,
        ]
      : [`Portcullis is up. API: ${up.apiUrl}  Edge: https://127.0.0.1:${up.edgePort}`];
    lines.push(...apiLines(up, up.edgePort), "", "Ctrl-C stops.", "");
    process.stdout.write(lines.join("\n"));
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    setTimeout(() => process.exit(0), 15_000).unref();
    await up.stop();
    process.exit(0);
  },
});

/** The first admin token (if this start made it) and the demo's curl commands. */
function apiLines(started: ApiStarted, edgePort: number): string[] {
  const dashboard = `${started.apiUrl.replace(/\/client\/v4$/, "")}/dashboard/`;
  const lines: string[] = ["", `Dashboard: ${dashboard} (sign in with an API token)`];
  if (started.bootstrapToken && !process.env.PORTCULLIS_ADMIN_TOKEN) {
    lines.push("", "Admin API token (shown once; keep it):", `  ${started.bootstrapToken}`);
  }
  if (started.demo) {
    const d = started.demo.dir;
    const url = `https://${DEMO_HOSTNAME}:${edgePort}/`;
    const base = `curl --cacert ${d}/server-ca.pem --resolve ${DEMO_HOSTNAME}:${edgePort}:127.0.0.1 ${url}`;
    lines.push(
      "",
      `Demo: ${DEMO_HOSTNAME} requires a client certificate of the zone's managed CA.`,
      "Without one, 403:",
      `  ${base}`,
      "With the demo client certificate, 200 and the identity the origin received:",
      `  ${base} --cert ${d}/client.pem --key ${d}/client-key.pem`,
    );
  }
  return lines;
}

function caQuota(value: number): number {
  if (value < 0) throw new UsageError("--ca-quota must be 0 or more");
  return value;
}

function eventCapacity(value: number): number {
  if (value < 1 || value > 1_000_000) throw new UsageError("--events must be between 1 and 1000000");
  return value;
}

function listenAddress(flag: string, text: string): Address {
  const parsed = address.safeParse(text);
  if (!parsed.success) throw new UsageError(`${flag}: "${text}" is not HOST:PORT`);
  return parsed.data;
}
