/**
 * Load generators, each run as its own process pinned to the load cores:
 * - `ab` (apache2-utils): C, presents a client certificate (`-E`), one new TLS connection per request
 *   without `-k` (no session resumption: a full handshake each time), HTTP/1.0 keep-alive with `-k`;
 * - bench/tools/rate.ts: fixed request rate (open loop, latency counted from each request's scheduled
 *   time, so a stall is not hidden), undici with a client certificate;
 * - bench/tools/idle.ts: opens N mTLS connections, makes one request on each, then holds them idle.
 */
import { resolve } from "node:path";
import type { ClientFiles } from "./bench-pki.ts";
import { type Spawned, spawnPinned, stopProcess } from "./procs.ts";

const NODE = process.execPath;
const TOOLS = resolve(import.meta.dirname, "../tools");

export interface AbResult {
  complete: number;
  failed: number;
  non2xx: number;
  seconds: number;
  rps: number;
}

export interface AbOptions {
  cpus: string;
  port: number;
  /** Sent as Host and as SNI. */
  host: string;
  client: ClientFiles;
  concurrency: number;
  seconds: number;
  keepAlive?: boolean;
}

export async function runAb(options: AbOptions): Promise<AbResult> {
  const args = [
    "-q",
    "-r", // keep going on socket errors (counted as failed)
    "-t",
    String(options.seconds),
    "-n",
    "100000000",
    "-c",
    String(options.concurrency),
    "-E",
    options.client.combined,
    "-H",
    `Host: ${options.host}`,
    ...(options.keepAlive ? ["-k"] : []),
    `https://127.0.0.1:${options.port}/`,
  ];
  const spawned = spawnPinned(options.cpus, "ab", args, { stdio: ["ignore", "pipe", "pipe"] });
  const out = await collect(spawned);
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(out.stdout)?.[1] ?? 0);
  const result = {
    complete: number("Complete requests"),
    failed: number("Failed requests"),
    non2xx: number("Non-2xx responses"),
    seconds: number("Time taken for tests"),
    rps: number("Requests per second"),
  };
  if (result.complete === 0) {
    throw new Error(`ab made no request (exit ${out.code}): ${out.stderr.trim() || out.stdout.trim()}`);
  }
  return result;
}

export interface RateResult {
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RateOptions {
  cpus: string;
  port: number;
  host: string;
  client: ClientFiles;
  rate: number;
  seconds: number;
  connections: number;
}

export async function runRate(options: RateOptions): Promise<RateResult> {
  const spawned = spawnPinned(
    options.cpus,
    NODE,
    [
      `${TOOLS}/rate.ts`,
      JSON.stringify({
        port: options.port,
        host: options.host,
        cert: options.client.cert,
        key: options.client.key,
        rate: options.rate,
        seconds: options.seconds,
        connections: options.connections,
      }),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const out = await collect(spawned);
  try {
    return JSON.parse(out.stdout.trim().split("\n").pop() ?? "") as RateResult;
  } catch {
    throw new Error(`rate.ts failed (exit ${out.code}): ${out.stderr.trim()}`);
  }
}

export interface IdleConnections {
  opened: number;
  failed: number;
  close(): Promise<void>;
}

/** Opens `count` mTLS connections with one request each and keeps them open until close(). */
export async function openIdleConnections(options: {
  cpus: string;
  port: number;
  host: string;
  client: ClientFiles;
  count: number;
}): Promise<IdleConnections> {
  const spawned = spawnPinned(
    options.cpus,
    NODE,
    [
      `${TOOLS}/idle.ts`,
      JSON.stringify({
        port: options.port,
        host: options.host,
        cert: options.client.cert,
        key: options.client.key,
        count: options.count,
      }),
    ],
    { stdio: ["ignore", "pipe", "pipe"], nofile: options.count + 1024 },
  );
  let stdout = "";
  let stderr = "";
  spawned.child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = await new Promise<{ opened: number; failed: number }>((resolvePromise, reject) => {
    spawned.child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolvePromise(JSON.parse(line));
    });
    void spawned.exited.then((code) => reject(new Error(`idle.ts exited with ${code}: ${stderr.trim()}`)));
  });
  return { ...ready, close: () => stopProcess(spawned) };
}

async function collect(
  spawned: Spawned,
): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  spawned.child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  spawned.child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await spawned.exited;
  return { code, stdout, stderr };
}
