import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** A free TCP port on loopback (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface SServer {
  port: number;
  /** Everything s_server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * A real `openssl s_server -www` that requires a client certificate chaining to `caFile`
 * (`-Verify DEPTH -verify_return_error`): the peer that tells whether a client certificate works.
 */
export async function startSServer(options: {
  cert: string;
  key: string;
  caFile: string;
  cwd: string;
  /** How deep the client's chain may be (s_server's -Verify): 1 allows one intermediate. Default 2. */
  verifyDepth?: number;
  /** false: a plain TLS server that asks for no client certificate. Default true. */
  requireClientCert?: boolean;
}): Promise<SServer> {
  const clientAuth =
    options.requireClientCert === false
      ? []
      : ["-CAfile", options.caFile, "-Verify", String(options.verifyDepth ?? 2), "-verify_return_error"];
  const port = await freePort();
  const child = spawn(
    "openssl",
    [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      options.cert,
      "-key",
      options.key,
      ...clientAuth,
      "-www",
    ],
    { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    output += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${output}`)), 10_000);
    const check = () => {
      if (output.includes("ACCEPT")) {
        clearTimeout(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`s_server exited: ${output}`));
      } else setTimeout(check, 20);
    };
    check();
  });
  return {
    port,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
