/**
 * The firewall stage's cost at the edge (issue 7, speed):
 * 1. per request, in process: FirewallStage.verdict (the RuleRequest, the compiled closures, the lazy
 *    `cf.tls_client_auth.*` map) for 0, 1, 10 and 100 rules that all run (none stops the request), in
 *    ns and heap bytes per request (bytes need --expose-gc and a young generation that does not fill);
 * 2. end to end: `portcullis edge` (one worker) with no rules and with N (default 10) such rules, over
 *    16 keep-alive mTLS connections (undici, closed loop), in alternating rounds: requests per second
 *    and the edge process's CPU time per request. `--compare 0` is an A/A run that shows the machine's
 *    own noise; on a shared 2-core machine it is far larger than the rules' cost.
 *   node_modules/.bin/node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 \
 *     bench/firewall.ts [--seconds 5] [--rounds 3] [--compare 10] [--no-edge]
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Pool } from "undici";
import type { FirewallRule } from "../src/config/types.ts";
import type { RequestAuth } from "../src/edge/client-auth.ts";
import { compileFirewall, FirewallStage } from "../src/edge/firewall.ts";
import { certificateFields } from "../src/edge/identity.ts";
import { createEdgeMetrics } from "../src/edge/metrics.ts";
import type { EdgeRequest } from "../src/edge/proxy.ts";
import { NO_EVENTS } from "../src/events/types.ts";
import type { HostRuntime } from "../src/snapshot/snapshot.ts";
import { makeEdgePki, startEchoOrigin } from "../test/helpers/edge.ts";
import { openssl } from "../test/helpers/openssl-pki.ts";
import { freePort } from "../test/helpers/openssl-server.ts";
import { PORTCULLIS_BIN, run, tempDir } from "../test/helpers/run.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    "no-edge": { type: "boolean", default: false },
    load: { type: "string" },
    /** How many rules to compare with none (0: an A/A run, to see the machine's noise). */
    compare: { type: "string", default: "10" },
  },
});

/** Rules like the documented ones, for hosts and paths this request is not: every rule runs. */
function rules(count: number): FirewallRule[] {
  const templates = [
    (i: number) => `(http.host in {"api${i}.example.test"} and not cf.tls_client_auth.cert_verified)`,
    (i: number) =>
      `((not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin${i}"})`,
    (i: number) =>
      `not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski ne "${String(i).padStart(40, "F")}")`,
    (i: number) => `starts_with(http.request.uri.path, "/v${i}/") and mtls.verification_status ne "SUCCESS"`,
    (i: number) => `http.request.headers["x-client"][0] eq "svc${i}" and not ip.src in {10.0.0.0/8}`,
  ];
  return Array.from({ length: count }, (_, i) => ({
    id: `rule-${i}`,
    expression: (templates[i % templates.length] as (i: number) => string)(i),
    action: "block" as const,
    description: "",
    enabled: true,
  }));
}

async function inProcess(): Promise<void> {
  const { path: dir, cleanup } = await tempDir("portcullis-bench-");
  const pki = await makeEdgePki(dir, ["api.example.test"]);
  const der = (await openssl(["x509", "-in", pki.client.cert, "-outform", "DER"])).raw;
  const caDer = (await openssl(["x509", "-in", pki.clientCa, "-outform", "DER"])).raw;
  await cleanup();
  const auth: RequestAuth = {
    presented: true,
    verified: true,
    revoked: false,
    verify: "SUCCESS",
    cert: certificateFields(der, [], caDer),
    failure: null,
  };
  const req = {
    httpVersionMajor: 1,
    method: "GET",
    url: "/orders/42?expand=items",
    headers: { host: "api.example.test", "user-agent": "bench", accept: "*/*" },
    socket: { remoteAddress: "192.0.2.10" },
  } as unknown as EdgeRequest;
  const stage = new FirewallStage(NO_EVENTS, createEdgeMetrics(), pino({ level: "silent" }));
  const gc = (globalThis as { gc?: () => void }).gc;
  console.log("rules  ns/request  bytes/request");
  for (const count of [0, 1, 10, 100]) {
    const host = { name: "api.example.test", requestsCert: true, firewall: compileFirewall(rules(count)) };
    const decision = {
      kind: "forward" as const,
      host: host as unknown as HostRuntime,
      mode: "enforce" as const,
      auth,
    };
    const iterations = count >= 100 ? 20_000 : 200_000;
    for (let i = 0; i < iterations; i++) {
      if (stage.verdict(req, decision) !== undefined) throw new Error("a rule stopped the request");
    }
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) stage.verdict(req, decision);
    const ns = Number(process.hrtime.bigint() - started) / iterations;
    const bytes = (process.memoryUsage().heapUsed - heapBefore) / iterations;
    console.log(
      `${String(count).padStart(5)}  ${ns.toFixed(0).padStart(10)}  ${gc ? bytes.toFixed(0).padStart(13) : "  (--expose-gc)"}`,
    );
  }
}

async function edgeRate(seconds: number, rounds: number, compare: number): Promise<void> {
  const { path: dir, cleanup } = await tempDir("portcullis-bench-");
  const pki = await makeEdgePki(dir, ["api.example.test"]);
  const origin = await startEchoOrigin();
  const yaml = (count: number) => {
    const lines = [
      'listen: { https: "127.0.0.1:{{HTTPS}}" }',
      "log: { level: warn }",
      "limits: { keep_alive_timeout: 60s }",
      "hostnames:",
      "  - hostname: api.example.test",
      "    tls: { cert: server.pem, key: server-key.pem }",
      "    mtls: { mode: enforce, trusted_cas: [client-ca.pem] }",
      `    origin: { url: "${origin.url}" }`,
    ];
    if (count > 0) lines.push("    firewall:");
    for (const rule of rules(count)) {
      lines.push(`      - { id: ${rule.id}, action: block, expression: ${JSON.stringify(rule.expression)} }`);
    }
    return `${lines.join("\n")}\n`;
  };
  const load = async (port: number, loadSeconds: number) => {
    const spec = { port, cert: pki.client.cert, key: pki.client.key, seconds: loadSeconds, connections: 16 };
    const out = await run(process.execPath, [import.meta.filename, "--load", JSON.stringify(spec)]);
    const result = JSON.parse(out.stdout.trim() || "{}") as {
      rps?: number;
      requests?: number;
      errors?: number;
    };
    if (!result.rps || !result.requests || result.errors) throw new Error(`load: ${out.stdout}${out.stderr}`);
    return { rps: result.rps, requests: result.requests };
  };
  type Measured = { rps: number; cpuMicros: number };
  const rate = async (count: number): Promise<Measured> => {
    const edge = await startEdge(dir, yaml(count));
    try {
      await load(edge.port, 1); // warm-up
      const cpuBefore = cpuMs(edge.pid);
      const { rps, requests } = await load(edge.port, seconds);
      // The edge's own CPU time per request: what other processes on the machine do changes it less.
      return { rps, cpuMicros: ((cpuMs(edge.pid) - cpuBefore) * 1000) / requests };
    } finally {
      await edge.stop();
    }
  };
  try {
    console.log(
      `\nedge (16 keep-alive mTLS connections, closed loop, ${seconds} s, one worker; ${compare} rules that all run)`,
    );
    const rates: number[] = [];
    const cpus: number[] = [];
    const percent = (ratio: number) => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)} %`;
    for (let round = 1; round <= rounds; round++) {
      // Alternate which goes first, so a warmer machine favours neither.
      let none: Measured;
      let ten: Measured;
      if (round % 2 === 1) {
        none = await rate(0);
        ten = await rate(compare);
      } else {
        ten = await rate(compare);
        none = await rate(0);
      }
      rates.push(ten.rps / none.rps);
      cpus.push(ten.cpuMicros / none.cpuMicros);
      console.log(
        `round ${round}: req/s ${none.rps.toFixed(0)} → ${ten.rps.toFixed(0)} (${percent(ten.rps / none.rps)}); ` +
          `edge CPU µs/req ${none.cpuMicros.toFixed(0)} → ${ten.cpuMicros.toFixed(0)} (${percent(ten.cpuMicros / none.cpuMicros)})`,
      );
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
    console.log(
      `median: req/s ${percent(median(rates))}, edge CPU per request ${percent(median(cpus))} with ${compare} rules`,
    );
  } finally {
    await origin.stop();
    await cleanup();
  }
}

/** User + system CPU time of a process so far (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** `portcullis edge` with its log in a file (a pipe read by this process would compete for the CPU). */
async function startEdge(
  dir: string,
  config: string,
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const file = join(dir, "portcullis.yaml");
  await writeFile(file, config.replaceAll("{{HTTPS}}", String(port)));
  const log = openSync(join(dir, "edge.log"), "w");
  const child = spawn(PORTCULLIS_BIN, ["edge", "--config", file, "--workers", "1"], {
    cwd: dir,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (let tries = 0; ; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) break;
    if (tries > 400 || child.exitCode !== null) throw new Error(readFileSync(join(dir, "edge.log"), "utf8"));
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: child.pid as number,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The load generator (a child process): as many requests as 16 keep-alive connections carry. */
async function loadChild(spec: {
  port: number;
  cert: string;
  key: string;
  seconds: number;
  connections: number;
}) {
  const pool = new Pool(`https://127.0.0.1:${spec.port}`, {
    connections: spec.connections,
    connect: {
      cert: readFileSync(spec.cert),
      key: readFileSync(spec.key),
      servername: "api.example.test",
      rejectUnauthorized: false,
    },
  });
  let done = 0;
  let errors = 0;
  const until = performance.now() + spec.seconds * 1000;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < until) {
      const response = await pool.request({
        path: "/",
        method: "GET",
        headers: { host: "api.example.test" },
      });
      await response.body.dump();
      if (response.statusCode === 200) done++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const rps = done / ((performance.now() - started) / 1000);
  await pool.close();
  process.stdout.write(`${JSON.stringify({ rps, requests: done, errors })}\n`);
}

if (values.load) await loadChild(JSON.parse(values.load));
else {
  await inProcess();
  if (!values["no-edge"])
    await edgeRate(Number(values.seconds), Number(values.rounds), Number(values.compare));
}
