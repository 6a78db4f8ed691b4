/** `portcullis up` as a real process, its API and its demo edge, for the e2e tests. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { PORTCULLIS_BIN, run } from "./run.ts";

export const ADMIN_TOKEN = "pct_test_admin_token_0123456789abcdef";

export async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const since = Date.now();
  while (!(await condition())) {
    if (Date.now() - since > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Started {
  /** Everything it printed on stdout so far (its log lines too). */
  readonly output: string;
  readonly stderr: string;
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
}

/** Starts `portcullis up ARGS…` and waits until it says it is up. */
export async function startUp(args: readonly string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(PORTCULLIS_BIN, ["up", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
  });
  let output = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = Date.now();
  while (!output.includes("Ctrl-C stops")) {
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      child.kill("SIGKILL");
      throw new Error(`portcullis up did not start: ${output}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    get output() {
      return output;
    },
    get stderr() {
      return stderr;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** `portcullis up --demo`: the demo in DATA, the edge and the API on the given ports. */
export function upDemo(dataDir: string, edgePort: number, apiPort: number): Promise<Started> {
  return startUp(["--demo", "--data", dataDir, ...listen(edgePort, apiPort)]);
}

export function listen(edgePort: number, apiPort: number): string[] {
  return ["--edge", `127.0.0.1:${edgePort}`, "--api", `127.0.0.1:${apiPort}`];
}

/** The command lines `up` printed (indented by two spaces), in order. */
export function printedCommands(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("  curl "))
    .map((line) => line.trim());
}

export interface ApiAnswer {
  status: number;
  success: boolean;
  result: Record<string, unknown> & Record<string, unknown>[];
}

/** A client of one node's API, with the admin token. */
export function apiClient(apiPort: number) {
  return async (method: string, path: string, payload?: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/client/v4${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(payload ? { "content-type": "application/json" } : {}),
      },
      ...(payload ? { body: JSON.stringify(payload) } : {}),
    });
    return { status: res.status, ...((await res.json()) as Omit<ApiAnswer, "status">) };
  };
}

/** The HTTP status curl gets from the demo hostname at `edgePort`, with the demo client certificate of `demoDir` or without. */
export async function demoStatus(edgePort: number, demoDir: string, withCertificate = true): Promise<string> {
  const result = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "--max-time",
    "5",
    "--cacert",
    join(demoDir, "server-ca.pem"),
    "--resolve",
    `app.localhost:${edgePort}:127.0.0.1`,
    ...(withCertificate
      ? ["--cert", join(demoDir, "client.pem"), "--key", join(demoDir, "client-key.pem")]
      : []),
    `https://app.localhost:${edgePort}/`,
  ]);
  return result.stdout;
}
