/**
 * Processes for the benchmark: spawned pinned to a core set (taskset), their whole process tree's CPU
 * time (utime + stime from /proc/PID/stat) and memory (VmRSS, and PSS which counts shared pages once).
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string | null>;
}

/** `taskset -c CPUS command args…` (taskset execs the command: the pid is the command's). */
export function spawnPinned(
  cpus: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdio?: StdioOptions; nofile?: number } = {},
): Spawned {
  // Raise the open-file limit in a shell first (root may raise the hard limit), then exec.
  const argv = options.nofile
    ? ["sh", "-c", `ulimit -n ${options.nofile} && exec taskset -c "$0" "$@"`, cpus, command, ...args]
    : ["taskset", "-c", cpus, command, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.stdio ?? ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { child, pid: child.pid, exited };
}

/** Pins this process (every thread) to `cpus`. */
export function pinSelf(cpus: string): void {
  execFileSync("taskset", ["-a", "-cp", cpus, String(process.pid)], { stdio: "ignore" });
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const child of children.get(p) ?? []) walk(child);
  };
  if (readStat(pid)) walk(pid);
  return out;
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // The command name is in parentheses and may contain spaces: fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(3) ppid(4) … utime(14) stime(15), numbered from 1.
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU seconds (user + system) used so far by `pids`. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / CLOCK_TICKS;
}

/** Summed VmRSS and PSS of `pids`, in MiB. */
export function memoryMiB(pids: readonly number[]): { rss: number; pss: number } {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "latin1");
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "latin1");
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { rss: rssKb / 1024, pss: pssKb / 1024 };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error(`the process for port ${port} exited`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
export async function stopProcess(spawned: Spawned, graceMs = 5_000): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill("SIGTERM");
  const timer = setTimeout(() => spawned.child.kill("SIGKILL"), graceMs);
  await spawned.exited;
  clearTimeout(timer);
}

/** True when `command` is on PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
