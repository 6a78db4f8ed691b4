import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The real `portcullis` executable, as a user runs it. */
export const PORTCULLIS_BIN = join(REPO_ROOT, "bin", "portcullis");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  raw: Buffer;
}

export interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs any program to completion and collects its output. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 60_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const raw = Buffer.concat(out);
      resolvePromise({
        code,
        stdout: raw.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        raw,
      });
    });
    child.stdin.on("error", () => {}); // the program may exit without reading its input
    child.stdin.end(options.input ?? "");
  });
}

/** Runs `portcullis ARGS…` (the real binary). */
export function portcullis(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(PORTCULLIS_BIN, args, options);
}

/** Runs a shell command line with `portcullis` on PATH, exactly as a user would type it. */
export function shell(commandLine: string, options: RunOptions = {}): Promise<RunResult> {
  const path = `${join(REPO_ROOT, "bin")}:${process.env.PATH ?? ""}`;
  return run("bash", ["-o", "pipefail", "-c", commandLine], {
    ...options,
    env: { PATH: path, ...options.env },
  });
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(
  prefix = "portcullis-test-",
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
