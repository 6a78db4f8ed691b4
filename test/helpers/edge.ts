/**
 * The edge as users run it: `portcullis edge --config portcullis.yaml` in its own process, with real
 * certificates made by openssl, real clients (curl, openssl s_client) and real origins.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { makeCa, makeClientCert, makeServerCert, openssl } from "./openssl-pki.ts";
import { freePort } from "./openssl-server.ts";
import { PORTCULLIS_BIN, type RunResult, run } from "./run.ts";

export interface EdgeProcess {
  port: number;
  adminPort: number;
  /** The plain-HTTP (redirect) port, for configs that use `{{HTTP}}`. */
  httpPort: number;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs(): Record<string, unknown>[];
  /** Waits for a log line matching `predicate`. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

/**
 * Writes `config` (YAML text; `{{HTTPS}}`, `{{HTTP}}` and `{{ADMIN}}` are replaced by free ports) to
 * DIR/portcullis.yaml and starts the edge on it; resolves once it logs "edge started".
 */
export async function startEdgeProcess(dir: string, config: string, workers = 1): Promise<EdgeProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const httpPort = await freePort();
  const file = join(dir, "portcullis.yaml");
  await writeFile(
    file,
    config
      .replaceAll("{{HTTPS}}", String(port))
      .replaceAll("{{ADMIN}}", String(adminPort))
      .replaceAll("{{HTTP}}", String(httpPort)),
  );
  const child = spawn(PORTCULLIS_BIN, ["edge", "--config", file, "--workers", String(workers)], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  const waiters = new Set<() => void>();
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const part of parts) {
      if (!part.trim()) continue;
      try {
        lines.push(JSON.parse(part));
      } catch {
        lines.push({ raw: part });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitForLog: EdgeProcess["waitForLog"] = (predicate, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.find(predicate);
        if (!found) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `no such log line within ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(lines)}`,
          ),
        );
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  const started = waitForLog((line) => line.event === "edge_started", 20_000);
  const early = exited.then((code) => {
    throw new Error(`edge exited with ${code} before starting: ${stderr}`);
  });
  await Promise.race([started, early]);
  early.catch(() => {});
  return {
    port,
    adminPort,
    httpPort,
    child,
    logs: () => lines,
    waitForLog,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The test PKI: a server CA with certificates for the test hosts, a client CA, client certificates. */
export interface EdgePki {
  dir: string;
  serverCa: string;
  clientCa: string;
  client: { cert: string; key: string };
  otherCa: string;
  otherClient: { cert: string; key: string };
  file(name: string): string;
}

export async function makeEdgePki(dir: string, hostnames: readonly string[]): Promise<EdgePki> {
  await makeCa(dir, "server-ca");
  await makeServerCert(dir, "server", {
    issuer: "server-ca",
    san: [...hostnames.map((name) => `DNS:${name}`), "DNS:localhost", "IP:127.0.0.1"].join(","),
  });
  await makeCa(dir, "client-ca", { subject: "/O=Portcullis Test/CN=Client CA" });
  const client = await makeClientCert(dir, "client", {
    issuer: "client-ca",
    subject: "/C=US/O=Access/OU=Access Admins/CN=James Royal",
  });
  await makeCa(dir, "other-ca", { subject: "/CN=Other CA" });
  const other = await makeClientCert(dir, "other-client", { issuer: "other-ca" });
  return {
    dir,
    serverCa: join(dir, "server-ca.pem"),
    clientCa: join(dir, "client-ca.pem"),
    client: { cert: client.certPath, key: client.keyPath },
    otherCa: join(dir, "other-ca.pem"),
    otherClient: { cert: other.certPath, key: other.keyPath },
    file: (name) => join(dir, name),
  };
}

/**
 * An `openssl ca` database for CA `caName` (files in dir) listing `valid` and `revoked` certificates;
 * returns the config file that `openssl ca` and `openssl ocsp` use with it.
 */
export async function opensslCaDatabase(
  dir: string,
  caName: string,
  certs: { valid?: readonly string[]; revoked?: readonly string[] },
): Promise<{ conf: string; index: string }> {
  const index = join(dir, `${caName}-index.txt`);
  await writeFile(index, "");
  const conf = join(dir, `${caName}-ca.cnf`);
  await writeFile(
    conf,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `database = ${index}`,
      `certificate = ${join(dir, `${caName}.pem`)}`,
      `private_key = ${join(dir, `${caName}-key.pem`)}`,
      "default_md = sha256",
      "default_crl_days = 7",
      "unique_subject = no",
      `crlnumber = ${join(dir, `${caName}-crlnumber`)}`,
      "",
    ].join("\n"),
  );
  // Each new CRL gets the next CRL number (the edge refuses to go back to an older one).
  await writeFile(join(dir, `${caName}-crlnumber`), "01\n", { flag: "wx" }).catch(() => {});
  for (const cert of certs.valid ?? []) await openssl(["ca", "-config", conf, "-valid", cert]);
  for (const cert of certs.revoked ?? []) await openssl(["ca", "-config", conf, "-revoke", cert]);
  return { conf, index };
}

/** A CRL from `openssl ca -gencrl`, revoking the given certificates of CA `caName` (files in dir). */
export async function opensslCrl(
  dir: string,
  caName: string,
  revoke: readonly string[],
  out: string,
): Promise<string> {
  const { conf } = await opensslCaDatabase(dir, caName, { revoked: revoke });
  await openssl(["ca", "-config", conf, "-gencrl", "-out", join(dir, out)]);
  return join(dir, out);
}

/** `openssl ocsp` answering for CA `caName` from `index`, signed by the CA itself, on `port`. */
export async function startOcspResponder(
  dir: string,
  caName: string,
  index: string,
  port: number,
): Promise<ChildProcess> {
  const child = spawn(
    "openssl",
    [
      "ocsp",
      "-index",
      index,
      "-port",
      String(port),
      "-rsigner",
      `${caName}.pem`,
      "-rkey",
      `${caName}-key.pem`,
    ].concat(["-CA", `${caName}.pem`, "-nmin", "5", "-ignore_err"]),
    { cwd: dir, stdio: ["ignore", "pipe", "ignore"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (/ACCEPT/.test(out)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`openssl ocsp exited with ${code}`)));
  });
  return child;
}

export interface EchoOrigin {
  url: string;
  port: number;
  /** The last request the origin saw. */
  last(): { method: string; url: string; headers: http.IncomingHttpHeaders; body: string } | undefined;
  stop(): Promise<void>;
}

/** An origin that answers every request with JSON describing it (method, url, headers, body length). */
export async function startEchoOrigin(tlsOptions?: https.ServerOptions): Promise<EchoOrigin> {
  let last: ReturnType<EchoOrigin["last"]>;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      last = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      const text = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        bodyLength: body.length,
      });
      res.writeHead(200, { "content-type": "application/json", "x-origin": "echo" });
      res.end(text);
    });
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tlsOptions ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    last: () => last,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CurlResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  result: RunResult;
}

/**
 * curl against the edge for `url` (https://NAME/path), resolving NAME to 127.0.0.1:port and trusting
 * the server CA; `args` adds anything else (--cert, -H, --http2…).
 */
export async function curlEdge(
  pki: EdgePki,
  port: number,
  url: string,
  args: readonly string[] = [],
): Promise<CurlResult> {
  const parsed = new URL(url);
  const result = await run("curl", [
    "-sS",
    "--max-time",
    "20",
    "--resolve",
    `${parsed.hostname}:${port}:127.0.0.1`,
    "--cacert",
    pki.serverCa,
    "-D",
    "-",
    ...args,
    `https://${parsed.hostname}:${port}${parsed.pathname}${parsed.search}`,
  ]);
  assert.equal(result.code, 0, `curl ${url} failed: ${result.stderr}`);
  return parseCurlOutput(result);
}

function parseCurlOutput(result: RunResult): CurlResult {
  // -D - prints each response head (1xx heads included) before the body.
  let text = result.stdout;
  let head = "";
  while (/^HTTP\/[\d.]+ \d{3}/.test(text)) {
    const end = text.indexOf("\r\n\r\n");
    head = text.slice(0, end);
    text = text.slice(end + 4);
    if (!/^HTTP\/[\d.]+ 1\d\d/.test(head)) break;
  }
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1]), body: text, headers, result };
}

export function clientCertArgs(pair: { cert: string; key: string }): string[] {
  return ["--cert", pair.cert, "--key", pair.key];
}
