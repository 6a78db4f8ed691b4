/**
 * Portcullis side by side with nginx on this machine (issue 6):
 *   npm run bench [-- --only a,b] [--scale 0.5] [--rounds 2] [--profile] [--keep]
 *   npm run bench:ci        (a few seconds per scenario, small CRL and host counts, no thresholds)
 * Prints one table and writes bench/results/<time>.{json,md} and latest.{json,md}. See docs/performance.md.
 */

import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type BenchPki, type ClientFiles, makeBenchPki, makeManyHosts } from "./lib/bench-pki.ts";
import { type AbResult, openIdleConnections, runAb, runRate } from "./lib/load.ts";
import { crlPem, makeCrl } from "./lib/pki.ts";
import { hasCommand, pinSelf, type Spawned, sleep, spawnPinned } from "./lib/procs.ts";
import {
  type JudgedRow,
  judge,
  machine,
  type Results,
  type Row,
  saveResults,
  type Target,
  terminalTable,
} from "./lib/report.ts";
import {
  nginxConfig,
  portcullisConfig,
  SERVERS,
  type Server,
  type ServerName,
  type ServerSetup,
  type Site,
  startOrigin,
  startServer,
} from "./lib/servers.ts";

const SCENARIOS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "rules"] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  only: Set<Scenario>;
  ci: boolean;
  /** Multiplies every duration. */
  scale: number;
  rounds: number;
  crlCount: number;
  hostCount: number;
  idleCount: number;
  rate: number;
  serverCpus: string;
  loadCpus: string;
  resultsDir: string;
  profile: boolean;
  keep: boolean;
  /** Another portcullis executable in nginx's place: before/after comparisons of Portcullis itself. */
  against: string | undefined;
  /** Portcullis with jemalloc (LD_PRELOAD) instead of glibc's malloc. */
  jemalloc: boolean;
}

/** Debian's libjemalloc2. */
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      ci: { type: "boolean", default: false },
      scale: { type: "string" },
      rounds: { type: "string" },
      "crl-count": { type: "string" },
      "host-count": { type: "string" },
      "idle-count": { type: "string" },
      rate: { type: "string" },
      "server-cpus": { type: "string" },
      "load-cpus": { type: "string" },
      results: { type: "string" },
      profile: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      against: { type: "string" },
      jemalloc: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- [--only a,b,…] [--scale F] [--rounds N] [--ci] [--crl-count N] [--host-count N]\n" +
        "       [--idle-count N] [--rate R] [--server-cpus 0] [--load-cpus 1] [--results DIR] [--profile] [--keep]\n" +
        "       [--against OTHER/bin/portcullis]  (that Portcullis in nginx's column: before/after comparisons)\n" +
        "       [--jemalloc]  (Portcullis with libjemalloc2 preloaded instead of glibc malloc)\n" +
        `scenarios: ${SCENARIOS.join(", ")}\n`,
    );
    process.exit(0);
  }
  const ci = values.ci ?? false;
  if (values.jemalloc && !existsSync(JEMALLOC)) {
    throw new UsageError(`--jemalloc needs ${JEMALLOC} (apt-get install libjemalloc2)`);
  }
  const number = (value: string | undefined, fallback: number, name: string) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`--${name} must be a positive number, not ${value}`);
    return n;
  };
  const only = new Set<Scenario>();
  for (const item of (values.only ?? SCENARIOS.join(",")).split(",")) {
    const name = item.trim() as Scenario;
    if (!SCENARIOS.includes(name))
      throw new UsageError(`--only: unknown scenario ${JSON.stringify(item)} (${SCENARIOS.join(", ")})`);
    only.add(name);
  }
  const cores = os.cpus().length;
  return {
    only,
    ci,
    scale: number(values.scale, ci ? 0.125 : 1, "scale"),
    rounds: Math.round(number(values.rounds, ci ? 1 : 2, "rounds")),
    crlCount: Math.round(number(values["crl-count"], ci ? 10_000 : 1_000_000, "crl-count")),
    hostCount: Math.round(number(values["host-count"], ci ? 100 : 10_000, "host-count")),
    idleCount: Math.round(number(values["idle-count"], ci ? 200 : 10_000, "idle-count")),
    rate: Math.round(number(values.rate, ci ? 200 : 1000, "rate")),
    serverCpus: values["server-cpus"] ?? "0",
    loadCpus: values["load-cpus"] ?? (cores > 2 ? `1-${cores - 1}` : cores === 2 ? "1" : "0"),
    resultsDir: resolve(values.results ?? join(import.meta.dirname, "results")),
    profile: values.profile ?? false,
    keep: values.keep ?? false,
    against: values.against ? resolve(values.against) : undefined,
    jemalloc: values.jemalloc ?? false,
  };
}

class UsageError extends Error {}

const count = (n: number) => n.toLocaleString("en-US");

type Spec = Omit<Row, "id" | "nginx" | "portcullis">;

/** Every row of the table, in order: a scenario that fails still leaves its rows (empty, with the error). */
function rowSpecs(o: Options): Record<string, Spec> {
  const spec = (scenario: string, label: string, unit: string, target: Target = { kind: "none" }): Spec => ({
    scenario,
    label,
    unit,
    target,
  });
  const atLeast = (value: number): Target => ({ kind: "ratioAtLeast", value });
  const atMost = (value: number): Target => ({ kind: "atMost", value });
  const rss: Target = { kind: "ratioAtMost", value: 2 };
  /** A rate row and its loss against (a) ECDSA, by wall clock and by server CPU. */
  const withLoss = (key: "d" | "g", label: string, against: string): Record<string, Spec> => ({
    [`${key}.rate`]: spec(`(${key})`, label, "req/s"),
    [`${key}.loss`]: spec(`(${key})`, `  loss vs ${against}, wall clock`, "%", atMost(5)),
    [`${key}.losscpu`]: spec(`(${key})`, `  loss vs ${against}, per server CPU-second`, "%", atMost(5)),
  });
  return {
    "a.ec.rate": spec("(a)", "full mTLS handshakes/s, ECDSA P-256", "req/s", atLeast(1)),
    "a.ec.cpu": spec("(a)", "  per server CPU-second, ECDSA P-256", "req/CPU-s", atLeast(1)),
    "a.rsa.rate": spec("(a)", "full mTLS handshakes/s, RSA-2048", "req/s", atLeast(1)),
    "a.rsa.cpu": spec("(a)", "  per server CPU-second, RSA-2048", "req/CPU-s", atLeast(1)),
    "b.rate": spec("(b)", "keep-alive mTLS requests/s, proxied, 1 KiB", "req/s", atLeast(0.8)),
    "b.cpu": spec("(b)", "  per server CPU-second", "req/CPU-s", atLeast(0.8)),
    "c.p50": spec("(c)", `p50 latency at ${count(o.rate)} req/s`, "ms"),
    "c.p99": spec("(c)", `p99 latency at ${count(o.rate)} req/s`, "ms", { kind: "plusAtMost", value: 1 }),
    ...withLoss("d", `(a) ECDSA with a ${count(o.crlCount)}-serial CRL`, "no CRL"),
    "e.crl": spec("(e)", "CRL file change → enforced", "s", atMost(1)),
    "e.bigcrl": spec("(e)", `  same with a ${count(o.crlCount)}-serial CRL`, "s", atMost(1)),
    "e.config": spec("(e)", "config change (mTLS off → enforce) → enforced", "s", atMost(1)),
    "f.idle": spec("(f)", "RSS idle", "MiB", rss),
    "f.crl": spec("(f)", `RSS with ${count(o.crlCount)} revoked serials`, "MiB", rss),
    "f.conns": spec("(f)", `RSS with ${count(o.idleCount)} idle mTLS connections`, "MiB", rss),
    "g.build": spec("(g)", `config load + Snapshot build, ${count(o.hostCount)} hosts/CAs`, "s", atMost(2)),
    "g.store": spec("(g)", `  from the store, ${count(o.hostCount)} hosts/CAs`, "s", atMost(2)),
    "g.rss": spec("(g)", `  RSS with ${count(o.hostCount)} hosts/CAs`, "MiB"),
    ...withLoss("g", `handshakes/s on 1 of ${count(o.hostCount)} hosts`, "one host"),
    "h.rate0": spec("(h)", "keep-alive mTLS requests/s, no firewall rules", "req/s"),
    "h.cpu0": spec("(h)", "  per server CPU-second, no firewall rules", "req/CPU-s"),
    "h.rate10": spec("(h)", "  same with 10 firewall rules (none matching)", "req/s"),
    "h.cpu10": spec("(h)", "  per server CPU-second, 10 firewall rules", "req/CPU-s"),
    "h.loss": spec("(h)", "  loss 10 rules vs none, wall clock", "%", atMost(5)),
    "h.losscpu": spec("(h)", "  loss 10 rules vs none, per server CPU-second", "%", atMost(5)),
    "i.plain": spec("(i)", "portcullis up: plain proxied requests/s", "req/s"),
    "i.fn": spec("(i)", "  through a trivial function", "req/s"),
    "i.ratio": spec("(i)", "  function ÷ plain proxied", "×", { kind: "atLeast", value: 0.5 }),
    "i.p50": spec("(i)", "  p50 latency added by the function", "ms", atMost(1)),
    "rules.1": spec("rules", "evaluate 1 firewall rule", "ns/req"),
    "rules.10": spec("rules", "evaluate 10 firewall rules", "ns/req"),
    "rules.100": spec("rules", "evaluate 100 firewall rules", "ns/req"),
  };
}

const SCENARIO_OF = (id: string): Scenario => (id.startsWith("rules") ? "rules" : (id[0] as Scenario));

class Bench {
  readonly o: Options;
  readonly specs: ReturnType<typeof rowSpecs>;
  readonly values = new Map<string, { nginx: number | null; portcullis: number | null; note?: string }>();
  readonly notes: string[] = [];
  readonly raw: Record<string, unknown> = {};
  dir = "";
  pki!: BenchPki;
  origin!: Server;
  readonly running = new Set<Server>();

  constructor(o: Options) {
    this.o = o;
    this.specs = rowSpecs(o);
  }

  log(message: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  }

  set(id: string, nginx: number | null, portcullis: number | null, note?: string): void {
    if (!this.specs[id]) throw new Error(`no row ${id}`);
    this.values.set(id, { nginx, portcullis, ...(note ? { note } : {}) });
  }

  seconds(base: number): number {
    return Math.max(1, Math.round(base * this.o.scale));
  }

  async start(kind: ServerName, setup: Omit<ServerSetup, "dir" | "cpus">): Promise<Server> {
    const portcullis = kind === "portcullis" || this.o.against !== undefined;
    const profileEnv =
      this.o.profile && kind === "portcullis"
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(this.o.resultsDir, "profiles")}` }
        : {};
    const mallocEnv = this.o.jemalloc && portcullis ? { LD_PRELOAD: JEMALLOC } : {};
    const server = await startServer(kind, {
      ...setup,
      ...(kind === "nginx" && this.o.against ? { bin: this.o.against } : {}),
      dir: this.dir,
      cpus: this.o.serverCpus,
      env: { ...profileEnv, ...mallocEnv, ...setup.env },
    });
    this.running.add(server);
    return server;
  }

  async stop(server: Server): Promise<void> {
    this.running.delete(server);
    await server.stop();
  }

  rows(): JudgedRow[] {
    return Object.entries(this.specs)
      .filter(([id]) => this.o.only.has(SCENARIO_OF(id)))
      .map(([id, spec]) => {
        const value = this.values.get(id);
        return judge({
          id,
          ...spec,
          nginx: value?.nginx ?? null,
          portcullis: value?.portcullis ?? null,
          ...(value?.note ? { note: value.note } : {}),
        });
      });
  }
}

// ---------------------------------------------------------------------------------------------------
// Measurements

interface Measured {
  rps: number;
  /** Server CPU seconds per completed request. */
  cpuPerRequest: number;
  ab: AbResult;
}

async function measureAb(
  b: Bench,
  server: Server,
  host: string,
  client: ClientFiles,
  seconds: number,
  keepAlive = false,
): Promise<Measured> {
  const cpuBefore = server.cpuSeconds();
  const ab = await runAb({
    cpus: b.o.loadCpus,
    port: server.port,
    host,
    client,
    concurrency: keepAlive ? 32 : 16,
    seconds,
    keepAlive,
  });
  const cpu = server.cpuSeconds() - cpuBefore;
  if (ab.failed > 0 || ab.non2xx > 0) {
    b.notes.push(
      `${server.name} ${host}${keepAlive ? " keep-alive" : ""}: ${ab.failed} failed, ${ab.non2xx} non-2xx of ${ab.complete}`,
    );
  }
  return { rps: ab.rps, cpuPerRequest: cpu / Math.max(1, ab.complete), ab };
}

/** Best of the rounds: the highest rate and the lowest CPU per request (least disturbed by other load). */
function best(runs: readonly Measured[]): { rps: number; perCpuSecond: number } {
  return {
    rps: Math.max(...runs.map((r) => r.rps)),
    perCpuSecond: 1 / Math.min(...runs.map((r) => r.cpuPerRequest)),
  };
}

/** A few requests so both servers have touched every code path before memory is read. */
async function warm(b: Bench, server: Server, host: string, client: ClientFiles): Promise<void> {
  await runAb({ cpus: b.o.loadCpus, port: server.port, host, client, concurrency: 2, seconds: 1 }).catch(
    () => {},
  );
}

interface HandshakeJob {
  key: string;
  instances: Record<ServerName, Server>;
  host: string;
  client: ClientFiles;
}

async function handshakeRounds(b: Bench, jobs: readonly HandshakeJob[]) {
  const results = new Map<string, Measured[]>();
  const seconds = b.seconds(8);
  if (!b.o.ci) {
    for (const job of jobs)
      for (const name of SERVERS) await warm(b, job.instances[name], job.host, job.client);
  }
  for (let round = 0; round < b.o.rounds; round++) {
    // Alternate which server goes first, so slow drifts in background load hit both alike.
    const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
    for (const job of jobs) {
      for (const name of order) {
        b.log(`handshakes ${job.key} ${name} round ${round + 1}/${b.o.rounds}`);
        const measured = await measureAb(b, job.instances[name], job.host, job.client, seconds);
        const key = `${job.key}/${name}`;
        results.set(key, [...(results.get(key) ?? []), measured]);
      }
    }
  }
  const out: Record<string, Record<ServerName, { rps: number; perCpuSecond: number }>> = {};
  for (const job of jobs) {
    out[job.key] = {
      nginx: best(results.get(`${job.key}/nginx`) ?? []),
      portcullis: best(results.get(`${job.key}/portcullis`) ?? []),
    };
  }
  b.raw.handshakes = Object.fromEntries(
    [...results].map(([key, runs]) => [
      key,
      runs.map((r) => ({ ...r.ab, cpuMsPerRequest: r.cpuPerRequest * 1000 })),
    ]),
  );
  return out;
}

const lossPercent = (withIt: number, without: number) => (1 - withIt / without) * 100;

// ---------------------------------------------------------------------------------------------------
// Scenarios

function mainSites(pki: BenchPki, crl?: string): Site[] {
  return [
    {
      hostname: "ec.bench.test",
      cert: pki.ec.serverCert,
      key: pki.ec.serverKey,
      clientCa: pki.ec.clientCa,
      ...(crl ? { crl } : {}),
      default: true,
    },
    {
      hostname: "rsa.bench.test",
      cert: pki.rsa.serverCert,
      key: pki.rsa.serverKey,
      clientCa: pki.rsa.clientCa,
    },
  ];
}

type Pair = Record<ServerName, Server>;

async function startPair(
  b: Bench,
  name: string,
  sites: Site[],
  extra: Partial<ServerSetup> = {},
): Promise<Pair> {
  const setup = { name: "", sites, originPort: b.origin.port, ...extra };
  const nginx = await b.start("nginx", { ...setup, name: `${name}-nginx` });
  const portcullis = await b.start("portcullis", { ...setup, name: `${name}-portcullis` });
  return { nginx, portcullis };
}

/** (a), (b), (c), (d), (g) rates and (f) idle/CRL memory, on servers that all run at once (idle ones cost nothing). */
async function throughputScenarios(b: Bench): Promise<void> {
  const o = b.o;
  const wantA = o.only.has("a") || o.only.has("d") || o.only.has("g");
  const pairs: { main?: Pair; crl?: Pair; g?: Pair } = {};
  const startSeconds: Partial<Record<ServerName, number>> = {};
  let gHost = "";
  let gClient: ClientFiles | undefined;
  try {
    if (wantA || o.only.has("b") || o.only.has("c") || o.only.has("f")) {
      b.log("starting nginx and Portcullis (main config)");
      pairs.main = await startPair(b, "main", mainSites(b.pki));
    }
    if (o.only.has("d") || o.only.has("f")) {
      b.log(`starting both with the ${count(o.crlCount)}-serial CRL`);
      pairs.crl = await startPair(b, "crl", mainSites(b.pki, b.pki.bigCrl));
    }
    if (o.only.has("g")) {
      b.log(`minting ${count(o.hostCount)} client CAs`);
      const gDir = join(b.dir, "g");
      await mkdir(gDir);
      const many = await makeManyHosts(gDir, o.hostCount);
      gHost = many.host;
      gClient = many.client;
      const sites: Site[] = many.sites.map((site, i) => ({ ...site, ...(i === 0 ? { default: true } : {}) }));
      b.log(`starting both with ${count(o.hostCount)} hosts`);
      const setup = { sites, originPort: b.origin.port, startTimeoutMs: 600_000 };
      let started = performance.now();
      const nginx = await b.start("nginx", { ...setup, name: "g-nginx" });
      startSeconds.nginx = (performance.now() - started) / 1000;
      started = performance.now();
      const portcullis = await b.start("portcullis", { ...setup, name: "g-portcullis" });
      startSeconds.portcullis = (performance.now() - started) / 1000;
      pairs.g = { nginx, portcullis };
      b.raw.gStartSeconds = startSeconds;
      const gMemory = { nginx: nginx.memory(), portcullis: portcullis.memory() };
      b.raw.gMemory = gMemory;
      b.set(
        "g.rss",
        gMemory.nginx.rss,
        gMemory.portcullis.rss,
        `PSS: nginx ${gMemory.nginx.pss.toFixed(0)} MiB, Portcullis ${gMemory.portcullis.pss.toFixed(0)} MiB`,
      );
    }

    if (o.only.has("f") && pairs.main && pairs.crl) {
      const memory: Record<string, unknown> = {};
      for (const [id, pair] of [
        ["f.idle", pairs.main],
        ["f.crl", pairs.crl],
      ] as const) {
        for (const name of SERVERS) await warm(b, pair[name], "ec.bench.test", b.pki.ec.client);
        await sleep(500);
        const n = pair.nginx.memory();
        const p = pair.portcullis.memory();
        memory[id] = { nginx: n, portcullis: p };
        b.set(
          id,
          n.rss,
          p.rss,
          `PSS (shared pages counted once): nginx ${n.pss.toFixed(1)} MiB, Portcullis ${p.pss.toFixed(1)} MiB`,
        );
      }
      b.raw.memory = memory;
    }

    if (pairs.crl && o.only.has("d")) {
      // The comparison means something only if both really enforce the CRL: its revoked client is refused.
      for (const name of SERVERS) {
        const code = await status(pairs.crl[name].port, "ec.bench.test", withPem(b.pki.revokedClient));
        if (code === 200)
          b.notes.push(`(d) ${name} let a client revoked by the CRL through: its numbers do not count`);
        b.raw[`d.revokedStatus.${name}`] = code;
      }
    }

    const jobs: HandshakeJob[] = [];
    if (pairs.main && wantA) {
      jobs.push({ key: "a.ec", instances: pairs.main, host: "ec.bench.test", client: b.pki.ec.client });
    }
    if (pairs.main && o.only.has("a")) {
      jobs.push({ key: "a.rsa", instances: pairs.main, host: "rsa.bench.test", client: b.pki.rsa.client });
    }
    if (pairs.crl && o.only.has("d")) {
      jobs.push({ key: "d", instances: pairs.crl, host: "ec.bench.test", client: b.pki.ec.client });
    }
    if (pairs.g && gClient) jobs.push({ key: "g", instances: pairs.g, host: gHost, client: gClient });
    if (jobs.length > 0) {
      const hs = await handshakeRounds(b, jobs);
      const a = hs["a.ec"];
      if (hs["a.ec"] && o.only.has("a")) {
        b.set("a.ec.rate", hs["a.ec"].nginx.rps, hs["a.ec"].portcullis.rps);
        b.set("a.ec.cpu", hs["a.ec"].nginx.perCpuSecond, hs["a.ec"].portcullis.perCpuSecond);
      }
      if (hs["a.rsa"]) {
        b.set("a.rsa.rate", hs["a.rsa"].nginx.rps, hs["a.rsa"].portcullis.rps);
        b.set("a.rsa.cpu", hs["a.rsa"].nginx.perCpuSecond, hs["a.rsa"].portcullis.perCpuSecond);
      }
      for (const key of ["d", "g"] as const) {
        const x = hs[key];
        if (!x || !a) continue;
        b.set(`${key}.rate`, x.nginx.rps, x.portcullis.rps);
        b.set(
          `${key}.loss`,
          lossPercent(x.nginx.rps, a.nginx.rps),
          lossPercent(x.portcullis.rps, a.portcullis.rps),
        );
        b.set(
          `${key}.losscpu`,
          lossPercent(x.nginx.perCpuSecond, a.nginx.perCpuSecond),
          lossPercent(x.portcullis.perCpuSecond, a.portcullis.perCpuSecond),
        );
      }
    }

    if (pairs.main && o.only.has("b")) {
      const runs: Record<ServerName, Measured[]> = { nginx: [], portcullis: [] };
      for (let round = 0; round < o.rounds; round++) {
        const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
        for (const name of order) {
          b.log(`keep-alive ${name} round ${round + 1}/${o.rounds}`);
          const server = pairs.main[name];
          if (!o.ci && round === 0) await measureAb(b, server, "ec.bench.test", b.pki.ec.client, 1, true);
          runs[name].push(await measureAb(b, server, "ec.bench.test", b.pki.ec.client, b.seconds(8), true));
        }
      }
      const n = best(runs.nginx);
      const p = best(runs.portcullis);
      b.set("b.rate", n.rps, p.rps);
      b.set("b.cpu", n.perCpuSecond, p.perCpuSecond);
      b.raw.keepAlive = Object.fromEntries(
        SERVERS.map((s) => [s, runs[s].map((r) => ({ rps: r.rps, cpuUsPerRequest: r.cpuPerRequest * 1e6 }))]),
      );
    }

    if (pairs.main && o.only.has("c")) {
      const runs: Record<ServerName, Awaited<ReturnType<typeof runRate>>[]> = { nginx: [], portcullis: [] };
      for (let round = 0; round < o.rounds; round++) {
        const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
        for (const name of order) {
          b.log(`latency at ${o.rate} req/s ${name} round ${round + 1}/${o.rounds}`);
          const result = await runRate({
            cpus: o.loadCpus,
            port: pairs.main[name].port,
            host: "ec.bench.test",
            client: b.pki.ec.client,
            rate: o.rate,
            seconds: b.seconds(10),
            connections: 16,
          });
          if (result.errors > 0)
            b.notes.push(`${name} latency run: ${result.errors} errors of ${result.sent}`);
          runs[name].push(result);
        }
      }
      const lowest = (name: ServerName, key: "p50" | "p99") => Math.min(...runs[name].map((r) => r[key]));
      b.set("c.p50", lowest("nginx", "p50"), lowest("portcullis", "p50"));
      b.set("c.p99", lowest("nginx", "p99"), lowest("portcullis", "p99"));
      b.raw.latency = runs;
    }
  } finally {
    for (const pair of Object.values(pairs)) {
      if (!pair) continue;
      for (const name of SERVERS) await b.stop(pair[name]);
    }
  }

  if (o.only.has("g") && pairs.g) {
    b.log("timing the config load and Snapshot build");
    const file = join(b.dir, "g-portcullis.yaml");
    const built = await runNodeTool(b, ["bench/tools/build-time.ts", file]);
    const parsed = JSON.parse(built) as { loadMs: number; compileMs: number; rebuildMs: number };
    b.raw.gBuild = parsed;
    b.set(
      "g.build",
      startSeconds.nginx ?? null,
      (parsed.loadMs + parsed.compileMs) / 1000,
      `Portcullis: load ${parsed.loadMs} ms + compile ${parsed.compileMs} ms (a rebuild reusing contexts: ${parsed.rebuildMs} ms); ` +
        `nginx column: nginx start until it listens (it parses the same files). Start to ready, Portcullis: ${startSeconds.portcullis?.toFixed(2)} s`,
    );
    b.log("timing the Snapshot build from the store");
    const store = await runNodeTool(b, [
      "bench/snapshot-build.ts",
      String(o.hostCount),
      "--own-cas",
      "--json",
    ]);
    const storeParsed = JSON.parse(store) as { readMs: number; compileMs: number };
    b.raw.gStore = storeParsed;
    b.set(
      "g.store",
      null,
      (storeParsed.readMs + storeParsed.compileMs) / 1000,
      `read ${storeParsed.readMs} ms + compile ${storeParsed.compileMs} ms`,
    );
  }
}

async function runNodeTool(b: Bench, args: string[]): Promise<string> {
  const spawned: Spawned = spawnPinned(b.o.serverCpus, process.execPath, args, {
    cwd: resolve(import.meta.dirname, ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  spawned.child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  spawned.child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await spawned.exited;
  if (code !== 0) throw new Error(`${args[0]} exited with ${code}: ${stderr.trim().split("\n").pop()}`);
  return stdout.trim().split("\n").pop() ?? "";
}

/** One request on a new connection: the status (0 when the connection failed). */
type PemClient = ClientFiles & { certPem: string; keyPem: string };

function status(port: number, host: string, client: PemClient | null, path = "/"): Promise<number> {
  return new Promise((done) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        servername: host,
        path,
        headers: { host },
        agent: false,
        rejectUnauthorized: false,
        timeout: 5_000,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
        res.on("error", () => done(0));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(0));
    req.end();
  });
}

/** Seconds from `change()` until a new connection no longer gets 200, or null after `timeoutMs`. */
async function timeToEnforcement(
  port: number,
  host: string,
  client: PemClient | null,
  change: () => Promise<void>,
  timeoutMs = 30_000,
): Promise<number | null> {
  const before = await status(port, host, client);
  if (before !== 200) throw new Error(`expected 200 from ${host} before the change, got ${before}`);
  const started = performance.now();
  await change();
  while (performance.now() - started < timeoutMs) {
    const now = await status(port, host, client);
    if (now !== 200 && now !== 0) return (performance.now() - started) / 1000;
    await sleep(5);
  }
  return null;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/**
 * (e): a CRL file revoking the client, and a config switching a public host to enforce; then, on a server
 * of its own (so the config change above does not re-read it), a big CRL revoking the client.
 */
async function enforcementScenario(b: Bench): Promise<void> {
  const { pki } = b;
  const results: Record<"crl" | "bigcrl" | "config", Record<ServerName, number | null>> = {
    crl: { nginx: null, portcullis: null },
    bigcrl: { nginx: null, portcullis: null },
    config: { nginx: null, portcullis: null },
  };
  const client = withPem(pki.ec.client);
  const ec = { cert: pki.ec.serverCert, key: pki.ec.serverKey };
  const revoking = (count: number) =>
    crlPem(makeCrl(pki.clientCaCert, { count, number: 2, extra: [pki.validClientSerial] }));
  for (const name of SERVERS) {
    const smallCrl = join(b.dir, `e-${name}.crl`);
    const bigCrl = join(b.dir, `e-${name}-big.crl`);
    await writeFile(smallCrl, crlPem(makeCrl(pki.clientCaCert, { count: 3, number: 1 })));
    await writeFile(bigCrl, crlPem(makeCrl(pki.clientCaCert, { count: b.o.crlCount, number: 1 })));
    const sites = (enforced: boolean): Site[] => [
      { hostname: "e.bench.test", ...ec, clientCa: pki.ec.clientCa, crl: smallCrl, default: true },
      { hostname: "cfg.bench.test", ...ec, ...(enforced ? { clientCa: pki.ec.clientCa } : {}) },
    ];
    const setup = { name: `e-${name}`, sites: sites(false), originPort: b.origin.port };
    b.log(`enforcement delays: ${name}`);
    let server = await b.start(name, setup);
    try {
      results.crl[name] = await timeToEnforcement(server.port, "e.bench.test", client, async () => {
        await writeAtomically(smallCrl, revoking(3));
        server.reload();
      });
      const current = server;
      results.config[name] = await timeToEnforcement(current.port, "cfg.bench.test", null, async () => {
        const next = { ...setup, dir: b.dir, cpus: b.o.serverCpus, sites: sites(true) };
        const isNginx = current.configFile.endsWith(".conf");
        const text = isNginx ? nginxConfig(next, current.port) : portcullisConfig(next, current.port);
        await writeAtomically(current.configFile, text);
        current.reload();
      });
    } finally {
      await b.stop(server);
    }
    const big: Site[] = [
      { hostname: "big.bench.test", ...ec, clientCa: pki.ec.clientCa, crl: bigCrl, default: true },
    ];
    server = await b.start(name, { name: `ebig-${name}`, sites: big, originPort: b.origin.port });
    try {
      const text = revoking(b.o.crlCount);
      results.bigcrl[name] = await timeToEnforcement(server.port, "big.bench.test", client, async () => {
        await writeAtomically(bigCrl, text);
        server.reload();
      });
    } finally {
      await b.stop(server);
    }
  }
  const note =
    "nginx does not watch its files: its column is with a SIGHUP (nginx -s reload) sent right after the change";
  b.set("e.crl", results.crl.nginx, results.crl.portcullis, note);
  b.set("e.bigcrl", results.bigcrl.nginx, results.bigcrl.portcullis);
  b.set("e.config", results.config.nginx, results.config.portcullis);
}

/** (f) with N idle connections, on fresh servers (their heaps not grown by earlier load). */
async function connectionsScenario(b: Bench): Promise<void> {
  const rss: Record<ServerName, number | null> = { nginx: null, portcullis: null };
  const detail: Record<string, unknown> = {};
  for (const name of SERVERS) {
    const server = await b.start(name, {
      name: `f-${name}`,
      sites: mainSites(b.pki).slice(0, 1),
      originPort: b.origin.port,
      nofile: b.o.idleCount + 4096,
    });
    try {
      await warm(b, server, "ec.bench.test", b.pki.ec.client);
      const idle = server.memory();
      b.log(`opening ${count(b.o.idleCount)} idle mTLS connections to ${name}`);
      const conns = await openIdleConnections({
        cpus: b.o.loadCpus,
        port: server.port,
        host: "ec.bench.test",
        client: b.pki.ec.client,
        count: b.o.idleCount,
      });
      await sleep(1000);
      const loaded = server.memory();
      await conns.close();
      rss[name] = loaded.rss;
      detail[name] = {
        idle,
        loaded,
        opened: conns.opened,
        failed: conns.failed,
        kibPerConnection: ((loaded.rss - idle.rss) * 1024) / Math.max(1, conns.opened),
      };
      if (conns.failed > 0)
        b.notes.push(`${name}: ${conns.failed} of ${b.o.idleCount} idle connections failed`);
    } finally {
      await b.stop(server);
    }
  }
  b.raw.connections = detail;
  const per = (name: ServerName) =>
    (detail[name] as { kibPerConnection: number } | undefined)?.kibPerConnection.toFixed(1) ?? "?";
  b.set(
    "f.conns",
    rss.nginx,
    rss.portcullis,
    `per connection: nginx ${per("nginx")} KiB, Portcullis ${per("portcullis")} KiB`,
  );
}

async function rulesScenario(b: Bench): Promise<void> {
  const file = join(import.meta.dirname, "rules.ts");
  if (!existsSync(file)) {
    b.notes.push("rules: bench/rules.ts is not there yet");
    return;
  }
  const { runRulesBench } = (await import(file)) as {
    runRulesBench: (o: { budgetMs?: number }) => {
      rules: { count: number; nsPerRequest: number }[];
      compileMicrosPerRule: number;
    };
  };
  const result = runRulesBench({ budgetMs: b.o.ci ? 150 : 600 });
  for (const { count: n, nsPerRequest } of result.rules) {
    if (b.specs[`rules.${n}`])
      b.set(
        `rules.${n}`,
        null,
        nsPerRequest,
        n === 1 ? `compile: ${result.compileMicrosPerRule} µs per rule` : undefined,
      );
  }
  b.raw.rules = result;
}

/**
 * Ten firewall rules like the documented ones (issue 7), on hosts, paths and `cf.tls_client_auth.*` fields
 * the bench request (GET / on ec.bench.test with a valid certificate) is not: every rule runs, none matches.
 */
const TEN_RULES: readonly string[] = [
  `http.host in {"api.bench.test" "admin.bench.test"} and not cf.tls_client_auth.cert_verified`,
  `starts_with(http.request.uri.path, "/admin") and not cf.tls_client_auth.cert_verified`,
  `cf.tls_client_auth.cert_revoked`,
  `not cf.tls_client_auth.cert_verified`,
  `http.request.uri.path in {"/internal" "/debug" "/metrics"}`,
  `cf.tls_client_auth.cert_subject_dn contains "CN=blocked-client"`,
  `cf.tls_client_auth.cert_issuer_ski eq "${"F".repeat(40)}"`,
  `http.host eq "legacy.bench.test" and http.request.method ne "GET"`,
  `starts_with(http.request.uri.path, "/v1/") and mtls.verification_status ne "SUCCESS"`,
  `http.request.headers["x-client"][0] eq "svc-blocked" and not ip.src in {10.0.0.0/8}`,
];

/** (h): scenario (b)'s keep-alive load on the Portcullis edge with no firewall rules and with ten. */
async function firewallScenario(b: Bench): Promise<void> {
  const [ec] = mainSites(b.pki);
  if (!ec) return;
  const servers = {
    none: await b.start("portcullis", { name: "h-none", sites: [ec], originPort: b.origin.port }),
    ten: await b.start("portcullis", {
      name: "h-ten",
      sites: [{ ...ec, firewall: TEN_RULES }],
      originPort: b.origin.port,
    }),
  };
  try {
    const runs: Record<"none" | "ten", Measured[]> = { none: [], ten: [] };
    for (const key of ["none", "ten"] as const) {
      // Both refused nothing: the rules must run and not match.
      const code = await status(servers[key].port, "ec.bench.test", withPem(b.pki.ec.client));
      if (code !== 200) throw new Error(`(h) ${key}: GET / answered ${code}, expected 200`);
    }
    // …and they are loaded: a request one of them is about is blocked.
    const blocked = await status(servers.ten.port, "ec.bench.test", withPem(b.pki.ec.client), "/internal");
    if (blocked !== 403) throw new Error(`(h) GET /internal answered ${blocked}, expected 403 from a rule`);
    for (let round = 0; round < b.o.rounds; round++) {
      const order = round % 2 === 0 ? (["none", "ten"] as const) : (["ten", "none"] as const);
      for (const key of order) {
        b.log(`firewall keep-alive ${key} round ${round + 1}/${b.o.rounds}`);
        const server = servers[key];
        if (!b.o.ci && round === 0) await measureAb(b, server, "ec.bench.test", b.pki.ec.client, 1, true);
        runs[key].push(await measureAb(b, server, "ec.bench.test", b.pki.ec.client, b.seconds(8), true));
      }
    }
    const none = best(runs.none);
    const ten = best(runs.ten);
    b.set(
      "h.rate0",
      null,
      none.rps,
      "Portcullis only: the same edge without and with 10 non-matching block rules",
    );
    b.set("h.cpu0", null, none.perCpuSecond);
    b.set("h.rate10", null, ten.rps);
    b.set("h.cpu10", null, ten.perCpuSecond);
    b.set("h.loss", null, lossPercent(ten.rps, none.rps));
    b.set("h.losscpu", null, lossPercent(ten.perCpuSecond, none.perCpuSecond));
    b.raw.firewall = Object.fromEntries(
      (["none", "ten"] as const).map((k) => [
        k,
        runs[k].map((r) => ({ rps: r.rps, cpuUsPerRequest: r.cpuPerRequest * 1e6 })),
      ]),
    );
  } finally {
    await b.stop(servers.none);
    await b.stop(servers.ten);
  }
}

/** (i): bench/functions.ts — `portcullis up`, a trivial function against plain proxying in the same run. */
async function functionsScenario(b: Bench): Promise<void> {
  const { runFunctionsBench } = await import("./functions.ts");
  const result = await runFunctionsBench({
    seconds: b.seconds(5),
    rounds: b.o.ci ? 1 : 3,
    concurrency: 16,
    requests: b.o.ci ? 300 : 2000,
    workers: 1,
    log: (line) => b.log(`functions ${line}`),
  });
  b.set(
    "i.plain",
    null,
    result.plainRps,
    "Portcullis only: bench/functions.ts, ab -k -c 16 on /plain (nginx origin) and /fn (workerd), median of the rounds",
  );
  b.set("i.fn", null, result.fnRps);
  b.set("i.ratio", null, result.fnRps / result.plainRps);
  b.set(
    "i.p50",
    null,
    result.addedP50Ms,
    `one keep-alive connection, sequential requests: plain p50 ${result.plainP50Ms.toFixed(3)} ms, function ${result.fnP50Ms.toFixed(3)} ms`,
  );
  b.raw.functions = result;
}

function withPem(client: ClientFiles): PemClient {
  return { ...client, certPem: readText(client.cert), keyPem: readText(client.key) };
}

function readText(file: string): string {
  return readFileSync(file, "utf8");
}

// ---------------------------------------------------------------------------------------------------

async function ensureTools(): Promise<void> {
  const missing = [
    ["nginx", "nginx-light"],
    ["ab", "apache2-utils"],
    ["taskset", "util-linux"],
  ].filter(([command]) => !hasCommand(command as string));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg as string);
  if (process.getuid?.() !== 0 || !hasCommand("apt-get")) {
    throw new UsageError(
      `the bench needs ${missing.map(([c]) => c).join(", ")}: apt-get install ${packages.join(" ")}`,
    );
  }
  process.stderr.write(`[bench] installing ${packages.join(" ")} (apt-get)\n`);
  const child = spawn(
    "apt-get",
    ["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "--no-install-recommends", ...packages],
    { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdio: ["ignore", "ignore", "inherit"] },
  );
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new UsageError(`apt-get install ${packages.join(" ")} failed (exit ${code})`);
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  await ensureTools();
  const b = new Bench(o);
  // Stopped from outside (Ctrl-C, a test timeout): stop every server it started before exiting.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      b.log(`${signal}: stopping the servers`);
      void Promise.allSettled([...b.running].map((server) => server.stop())).then(async () => {
        if (!o.keep && b.dir) await rm(b.dir, { recursive: true, force: true }).catch(() => {});
        process.exit(130);
      });
    });
  }
  pinSelf(o.loadCpus);
  b.dir = await mkdtemp(join(os.tmpdir(), "portcullis-bench-"));
  const started = Date.now();
  const date = new Date().toISOString();
  try {
    b.log(`work directory ${b.dir}; minting the PKI (${count(o.crlCount)}-serial CRL)`);
    b.pki = await makeBenchPki(b.dir, o.crlCount);
    b.origin = await startOrigin(b.dir, o.loadCpus);
    b.running.add(b.origin);
    const phases: [Scenario[], () => Promise<void>][] = [
      [["a", "b", "c", "d", "g"], () => throughputScenarios(b)],
      [["e"], () => enforcementScenario(b)],
      [["f"], () => connectionsScenario(b)],
      [["h"], () => firewallScenario(b)],
      [["i"], () => functionsScenario(b)],
      [["rules"], () => rulesScenario(b)],
    ];
    for (const [scenarios, run] of phases) {
      if (!scenarios.some((s) => o.only.has(s))) continue;
      try {
        await run();
      } catch (err) {
        const message = (err as Error).message.split("\n")[0] ?? "";
        b.log(`FAILED (${scenarios.join(",")}): ${message}`);
        b.notes.push(`scenario ${scenarios.filter((s) => o.only.has(s)).join(", ")} failed: ${message}`);
      }
    }
  } finally {
    for (const server of [...b.running]) await b.stop(server).catch(() => {});
    if (!o.keep) await rm(b.dir, { recursive: true, force: true });
    else b.log(`kept ${b.dir}`);
  }
  const rows = b.rows();
  const notes = [
    "Throughput rows: best of the rounds (highest rate, lowest server CPU per request), rounds alternating which server goes first.",
    "“per server CPU-second”: requests per second of user+system CPU of the server's processes (/proc/PID/stat) — the comparison that does not depend on how busy the load generator's core was.",
    "(a), (d), (g): `ab -E` (one new TLS 1.3 connection and request each, no resumption, 16 concurrent); (b): `ab -k -E` (HTTP/1.0 keep-alive, 32 connections); (c): bench/tools/rate.ts (undici, 16 keep-alive connections, open loop).",
    ...rows.filter((r) => r.note).map((r) => `${r.scenario} ${r.label.trim()}: ${r.note}`),
    ...b.notes,
  ];
  const command = `npm run ${o.ci ? "bench:ci" : "bench"}${
    process.argv.length > 2
      ? ` -- ${process.argv
          .slice(2)
          .filter((a) => a !== "--ci")
          .join(" ")}`
      : ""
  }`.trim();
  const results: Results = {
    date,
    command,
    machine: machine(o.serverCpus, o.loadCpus),
    baseline: o.against ? "before" : "nginx",
    options: { ...o, only: [...o.only] },
    rows,
    notes,
    raw: { ...b.raw, wallSeconds: (Date.now() - started) / 1000 },
  };
  const saved = await saveResults(o.resultsDir, results, o.ci ? "ci-" : "");
  process.stdout.write(
    `\n${terminalTable(rows, o.against ? "before" : "nginx")}\n\n${notes.map((n) => `- ${n}`).join("\n")}\n\nsaved ${saved}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message.split("\n")[0]}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
