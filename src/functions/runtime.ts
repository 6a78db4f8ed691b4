/**
 * Runs the edge functions: one workerd process per function, started by the process that runs the edge's
 * supervisor (`portcullis up`). One process per function because workerd runs its isolates on one thread:
 * a function stuck in a loop would stall every other one, and a crash would take them all. Per function,
 * the watchdog enforces the CPU limit (an isolate that does not answer the health probe within cpu_ms is
 * killed) and a process that dies is restarted with backoff; the edge keeps serving throughout.
 *
 * A changed function gets a new process beside the old one (new ports); the old one is stopped once the
 * edge serves a Snapshot that no longer points at it, and after its requests had time to finish.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { EgressServer } from "./egress.ts";
import { type FunctionLogs, functionLogs } from "./logs.ts";
import { addressPolicy } from "./outbound.ts";
import type { FunctionScript, FunctionsConfig } from "./types.ts";
import { MODULE_FILE, type OutboundPolicy, workerdConfig } from "./workerd-config.ts";

export interface RuntimeOptions {
  logger: Logger;
  /** Working directory for the generated configs (emptied at start), e.g. `DATA/functions`. */
  dir: string;
  outbound: OutboundPolicy;
  /** The workerd binary; the npm package's by default. */
  workerdPath?: string;
  logs?: FunctionLogs;
  /** How long a replaced process keeps running for requests in flight (default 10 s). */
  drainMs?: number;
}

const START_TIMEOUT_MS = 15_000;
const MAX_BACKOFF_MS = 10_000;
/** The watchdog cannot measure finer than its probe: cpu_ms below this is enforced as this. */
const MIN_WATCHDOG_MS = 500;

export function defaultWorkerdPath(): string {
  return (createRequire(import.meta.url)("workerd") as { default: string }).default;
}

export class FunctionsRuntime {
  readonly #options: RuntimeOptions;
  readonly #logs: FunctionLogs;
  readonly #egress: EgressServer;
  readonly #current = new Map<string, Instance>();
  readonly #retired = new Set<Instance>();
  /** Replaced and no longer served: stopping once their requests had time to finish. */
  readonly #draining = new Set<Instance>();
  #started: Promise<void> | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #onChange: ((why: string) => void) | undefined;
  #generation = 0;
  #stopped = false;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#logs = options.logs ?? functionLogs;
    this.#egress = new EgressServer((failure) => {
      options.logger.warn({ event: "function_egress_error", ...failure }, "mTLS binding fetch failed");
    }, addressPolicy(options.outbound.allow));
  }

  /** Called when endpoints change outside `ensure` (a process restarted): the edge should reload. */
  onChange(listener: (why: string) => void): void {
    this.#onChange = listener;
  }

  /**
   * Makes the running processes match `config` (starting changed functions beside the old ones) and
   * returns where each function listens. A function that cannot start is logged and has no endpoint.
   */
  ensure(config: FunctionsConfig | undefined): Promise<Record<string, string>> {
    const next = this.#serial.then(() => this.#ensure(config));
    this.#serial = next.catch(() => {});
    return next;
  }

  async #ensure(config: FunctionsConfig | undefined): Promise<Record<string, string>> {
    if (this.#stopped) return {};
    const scripts = config?.scripts ?? [];
    if (scripts.length > 0) {
      try {
        await this.#start();
      } catch (err) {
        // Never a reason to refuse the edge's config: the functions' routes answer 503 instead.
        this.#options.logger.error(
          { event: "functions_unavailable", error: (err as Error).message },
          "edge functions cannot run",
        );
        this.#started = undefined;
        return {};
      }
    }
    const wanted = new Set(scripts.map((script) => script.key));
    for (const [key, instance] of this.#current) {
      if (!wanted.has(key)) {
        this.#current.delete(key);
        this.#retired.add(instance);
      }
    }
    await Promise.all(
      scripts.map(async (script) => {
        const hash = hashOf(script, this.#options.outbound);
        const running = this.#current.get(script.key);
        if (running && running.hash === hash) return;
        let instance: Instance | undefined;
        try {
          instance = new Instance(script, hash, this.#instanceDir(script), this.#context());
          await instance.start();
        } catch (err) {
          this.#options.logger.error(
            { event: "function_start_failed", function: script.name, error: (err as Error).message },
            "function did not start",
          );
          this.#logs.push(script.key, entry(script.name, "exception", (err as Error).message));
          await instance?.stop();
          return;
        }
        if (running) this.#retired.add(running);
        this.#current.set(script.key, instance);
      }),
    );
    return this.endpoints();
  }

  endpoints(): Record<string, string> {
    const endpoints: Record<string, string> = {};
    for (const [key, instance] of this.#current) if (instance.url) endpoints[key] = instance.url;
    return endpoints;
  }

  /** The edge serves `endpoints` now: processes it no longer uses stop after the drain time. */
  applied(endpoints: Record<string, string> | undefined): void {
    const inUse = new Set(Object.values(endpoints ?? {}));
    for (const instance of this.#retired) {
      if (instance.url && inUse.has(instance.url)) continue;
      this.#retired.delete(instance);
      this.#draining.add(instance);
      const timer = setTimeout(() => {
        this.#draining.delete(instance);
        void instance.stop();
      }, this.#options.drainMs ?? 10_000);
      timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#serial;
    const all = [...this.#current.values(), ...this.#retired, ...this.#draining];
    this.#current.clear();
    this.#retired.clear();
    this.#draining.clear();
    await Promise.all(all.map((instance) => instance.stop()));
    if (this.#started) await this.#egress.close();
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      killStrays(this.#options.dir);
      await rm(this.#options.dir, { recursive: true, force: true });
      await mkdir(this.#options.dir, { recursive: true, mode: 0o700 });
      await this.#egress.start();
    })();
    return this.#started;
  }

  #instanceDir(script: FunctionScript): string {
    const safe = script.key.replace(/[^A-Za-z0-9_-]/g, "_");
    return join(this.#options.dir, `${safe}-${++this.#generation}`);
  }

  #context(): InstanceContext {
    return {
      logger: this.#options.logger,
      logs: this.#logs,
      egress: this.#egress,
      outbound: this.#options.outbound,
      workerdPath: this.#options.workerdPath ?? defaultWorkerdPath(),
      restarted: (instance) => {
        if (this.#current.get(instance.key) === instance)
          this.#onChange?.(`function ${instance.name} restarted`);
      },
    };
  }
}

interface InstanceContext {
  logger: Logger;
  logs: FunctionLogs;
  egress: EgressServer;
  outbound: OutboundPolicy;
  workerdPath: string;
  restarted: (instance: Instance) => void;
}

/** One function's workerd process, restarted when it dies, killed when it overruns its CPU limit. */
class Instance {
  readonly key: string;
  readonly name: string;
  readonly hash: string;
  url: string | undefined;
  readonly #script: FunctionScript;
  readonly #dir: string;
  readonly #context: InstanceContext;
  readonly #secrets = new Map<string, string>();
  #child: ChildProcess | undefined;
  #healthUrl: string | undefined;
  #stopping = false;
  #failures = 0;
  #startedAt = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(script: FunctionScript, hash: string, dir: string, context: InstanceContext) {
    this.key = script.key;
    this.name = script.name;
    this.hash = hash;
    this.#script = script;
    this.#dir = dir;
    this.#context = context;
  }

  async start(): Promise<void> {
    const { egress, outbound } = this.#context;
    for (const binding of this.#script.bindings) {
      if (binding.type !== "mtls") continue;
      const pair =
        binding.certPem && binding.keyPem ? { certPem: binding.certPem, keyPem: binding.keyPem } : undefined;
      this.#secrets.set(
        binding.name,
        egress.register(this.name, binding.name, binding.certificateId, pair, outbound.trustedCasPem),
      );
    }
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.#dir, MODULE_FILE), this.#script.source, { mode: 0o600 });
    await writeFile(
      join(this.#dir, "config.capnp"),
      workerdConfig(this.#script, egress.address, this.#secrets, outbound),
      { mode: 0o600 },
    );
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    const { child, listening } = spawnWorkerd(this.#context.workerdPath, this.#dir, (line) =>
      this.#logLine(line),
    );
    this.#child = child;
    this.#startedAt = Date.now();
    const ports = await listening;
    child.once("exit", (code, signal) => this.#exited(child, code, signal));
    this.url = `http://127.0.0.1:${ports.get("fn")}`;
    this.#healthUrl = `http://127.0.0.1:${ports.get("health")}/`;
    this.#startWatchdog();
  }

  /** workerd's structured log lines: console output of the function, and uncaught exceptions. */
  #logLine(line: string): void {
    if (!line.trim()) return;
    let level = "system";
    let message = line;
    try {
      const parsed = JSON.parse(line) as { level?: string; message?: string; source?: string };
      message = parsed.message ?? line;
      level = parsed.source ? "system" : (parsed.level ?? "log");
    } catch {
      // Not JSON: a line workerd printed before its logging was set up.
    }
    if (/Uncaught|uncaught exception/i.test(message)) {
      level = "exception";
      this.#context.logger.warn(
        {
          event: "function_exception",
          function: this.name,
          error: message.replace(/^Uncaught exception: /, ""),
        },
        "function threw",
      );
    }
    this.#context.logs.push(this.key, entry(this.name, level, message));
  }

  #startWatchdog(): void {
    const limit = Math.max(this.#script.cpuMs, MIN_WATCHDOG_MS);
    const every = Math.min(Math.max(Math.floor(limit / 2), 100), 1000);
    let probing = false;
    this.#watchdog = setInterval(async () => {
      if (probing || !this.#healthUrl) return;
      probing = true;
      const child = this.#child;
      try {
        const res = await fetch(this.#healthUrl, { signal: AbortSignal.timeout(limit) });
        await res.arrayBuffer();
      } catch (err) {
        if (child === this.#child && !this.#stopping && (err as Error).name === "TimeoutError") {
          const message = `exceeded its CPU limit (${limit} ms without yielding); the isolate was stopped`;
          this.#context.logger.warn(
            { event: "function_cpu_limit", function: this.name, cpuMs: limit },
            message,
          );
          this.#context.logs.push(this.key, entry(this.name, "exception", `Error: ${message}`));
          child?.kill("SIGKILL");
        }
      } finally {
        probing = false;
      }
    }, every);
    this.#watchdog.unref();
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(this.#watchdog);
    if (this.#stopping || child !== this.#child) return;
    // A process that ran a while before dying starts again at once; one that keeps dying backs off.
    this.#failures = Date.now() - this.#startedAt > 30_000 ? 1 : this.#failures + 1;
    const delay = Math.min(100 * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
    this.#context.logger.error(
      { event: "function_process_exit", function: this.name, code, signal, restartInMs: delay },
      "function process exited; restarting",
    );
    this.#restartTimer = setTimeout(async () => {
      if (this.#stopping) return;
      try {
        await this.#spawn();
        this.#context.restarted(this);
      } catch (err) {
        this.#context.logger.error(
          { event: "function_restart_failed", function: this.name, error: (err as Error).message },
          "function process did not restart",
        );
        if (this.#child) this.#exited(this.#child, null, null);
      }
    }, delay);
    this.#restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#restartTimer);
    for (const secret of this.#secrets.values()) this.#context.egress.unregister(secret);
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.#dir, { recursive: true, force: true }).catch(() => {});
  }
}

function entry(script: string, level: string, message: string) {
  return { time: new Date().toISOString(), script, level, message };
}

function hashOf(script: FunctionScript, outbound: OutboundPolicy): string {
  return createHash("sha256")
    .update(JSON.stringify([script, outbound]))
    .digest("hex");
}

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/** workerd processes a previous run left (killed without its children): their working directory is below `dir`. */
function killStrays(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(`${dir}/`) && /workerd/.test(readlinkSync(`/proc/${entry}/exe`)))
        process.kill(Number(entry), "SIGKILL");
    } catch {
      // Gone, or not ours to look at.
    }
  }
}

/**
 * Starts `workerd serve config.capnp` in `dir`; `listening` resolves with the port of each socket (by
 * name) once all of `sockets` listen, and rejects with workerd's error lines if it exits first.
 */
function spawnWorkerd(
  workerdPath: string,
  dir: string,
  onLine: (line: string) => void,
  sockets: readonly string[] = ["fn", "health"],
): { child: ChildProcess; listening: Promise<Map<string, number>> } {
  const args = ["serve", "config.capnp", "--control-fd=3"];
  // With setpriv, workerd gets SIGKILL when this process dies, however it dies (no orphans).
  const child = spawn(
    SETPRIV ?? workerdPath,
    SETPRIV ? ["--pdeathsig", "SIGKILL", "--", workerdPath, ...args] : args,
    {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    },
  );
  const errors: string[] = [];
  for (const stream of [child.stdout, child.stderr] as Readable[]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (errors.length < 20 && line.trim()) errors.push(messageOf(line));
      onLine(line);
    });
  }
  const ports = new Map<string, number>();
  const listening = new Promise<Map<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("workerd did not start listening in time"));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
      try {
        const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
        if (message.event === "listen" && message.socket && message.port)
          ports.set(message.socket, message.port);
      } catch {
        return;
      }
      if (sockets.every((name) => ports.has(name))) {
        clearTimeout(timer);
        resolve(ports);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      // The last output lines may still be on their way: name them once they are in.
      setTimeout(() => reject(new Error(errors.join("; ") || `workerd exited (${signal ?? code})`)), 20);
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { child, listening };
}

/** The message of one of workerd's structured log lines, without its `service fn: ` prefix. */
function messageOf(line: string): string {
  try {
    const parsed = JSON.parse(line) as { message?: string };
    return (parsed.message ?? line).replace(/^service fn: /, "");
  } catch {
    return line;
  }
}

/**
 * Whether workerd accepts the function: its module parses and exports a handler, its compatibility date
 * is supported. Starts a throwaway workerd (about 50 ms); returns workerd's error, or null.
 */
export async function checkScript(
  script: FunctionScript,
  workerdPath = defaultWorkerdPath(),
): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-check-"));
  try {
    // Bindings as text: module scope cannot make requests, so their kind does not matter for the check.
    const bindings = script.bindings.map((b) => ({ type: "text" as const, name: b.name, text: "" }));
    await writeFile(join(dir, MODULE_FILE), script.source);
    await writeFile(
      join(dir, "config.capnp"),
      workerdConfig({ ...script, bindings }, "127.0.0.1:9", new Map(), { allow: [], trustedCasPem: [] }),
    );
    const { child, listening } = spawnWorkerd(workerdPath, dir, () => {});
    try {
      await listening;
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      child.kill("SIGKILL");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
