/**
 * A fixed-rate (open-loop) HTTPS load generator with a client certificate: requests are scheduled at
 * exactly `rate` per second over keep-alive connections, and each latency is counted from the request's
 * scheduled time (so a server stall shows up in the percentiles instead of slowing the generator down).
 *   node bench/tools/rate.ts '{"port":8443,"host":"ec.bench.test","cert":"c.pem","key":"k.pem","rate":1000,"seconds":10,"connections":16}'
 * Prints one JSON line: {sent, ok, errors, p50, p90, p99, max} (milliseconds).
 */
import { readFileSync } from "node:fs";
import { Pool } from "undici";

interface Options {
  port: number;
  host: string;
  cert: string;
  key: string;
  rate: number;
  seconds: number;
  connections: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const pool = new Pool(`https://127.0.0.1:${options.port}`, {
  connections: options.connections,
  pipelining: 1,
  connect: {
    cert: readFileSync(options.cert),
    key: readFileSync(options.key),
    servername: options.host,
    rejectUnauthorized: false,
  },
});

const latencies: number[] = [];
let ok = 0;
let errors = 0;
let sent = 0;

async function one(scheduled: number): Promise<void> {
  try {
    const response = await pool.request({ path: "/", method: "GET", headers: { host: options.host } });
    await response.body.dump();
    if (response.statusCode === 200) ok++;
    else errors++;
  } catch {
    errors++;
  }
  latencies.push(performance.now() - scheduled);
}

// Warm the connections up first (their handshakes are not what is measured).
await Promise.all(Array.from({ length: options.connections }, () => one(performance.now()).catch(() => {})));
latencies.length = 0;
ok = 0;
errors = 0;

const interval = 1000 / options.rate;
const total = Math.round(options.rate * options.seconds);
const start = performance.now();
const inFlight: Promise<void>[] = [];
await new Promise<void>((done) => {
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      inFlight.push(one(start + sent * interval));
      sent++;
    }
    if (sent >= total) done();
    else setTimeout(tick, Math.max(0, Math.min(1, start + sent * interval - performance.now())));
  };
  tick();
});
await Promise.all(inFlight);
await pool.close();

latencies.sort((a, b) => a - b);
const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
const round = (n: number) => Math.round(n * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify({
    sent,
    ok,
    errors,
    p50: round(pick(0.5)),
    p90: round(pick(0.9)),
    p99: round(pick(0.99)),
    max: round(latencies.at(-1) ?? 0),
  })}\n`,
);
