/**
 * The proxy side of the edge: authenticated origin pull to a real nginx with `ssl_verify_client on`,
 * origin certificate verification, streamed bodies, WebSocket upgrades, 502/504.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import {
  curlEdge,
  type EdgePki,
  type EdgeProcess,
  makeEdgePki,
  startEdgeProcess,
} from "../helpers/edge.ts";
import { makeCa, makeClientCert, makeServerCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl", "curl", "nginx");
const HOSTS = ["aop.example.test", "noaop.example.test", "wrongca.example.test", "stream.example.test", "dead.example.test"];

describe("edge: origins", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let nginx: ChildProcess;
  let nginxPort: number;
  let plain: http.Server;
  let plainPort: number;
  let edge: EdgeProcess;
  let deadPort: number;

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, HOSTS);
    // The origin's own PKI: its server certificate, and the CA whose client certificates it requires.
    await makeCa(dir, "origin-ca");
    await makeServerCert(dir, "origin", { issuer: "origin-ca" });
    await makeCa(dir, "aop-ca", { subject: "/CN=AOP CA" });
    await makeClientCert(dir, "aop", { issuer: "aop-ca", subject: "/O=Portcullis/CN=edge.example.test" });
    nginxPort = await freePort();
    nginx = await startNginx(dir, nginxPort);
    plain = await startPlainOrigin();
    plainPort = (plain.address() as AddressInfo).port;
    deadPort = await freePort();
    const tlsPair = "tls: { cert: server.pem, key: server-key.pem }";
    edge = await startEdgeProcess(
      dir,
      `
listen: { https: "127.0.0.1:\${HTTPS}" }
hostnames:
  - hostname: aop.example.test
    ${tlsPair}
    origin: { url: "https://127.0.0.1:${nginxPort}", ca: origin-ca.pem, client_cert: { cert: aop.pem, key: aop-key.pem } }
  - hostname: noaop.example.test
    ${tlsPair}
    origin: { url: "https://127.0.0.1:${nginxPort}", ca: origin-ca.pem }
  - hostname: wrongca.example.test
    ${tlsPair}
    origin: { url: "https://127.0.0.1:${nginxPort}", ca: server-ca.pem, client_cert: { cert: aop.pem, key: aop-key.pem } }
  - hostname: stream.example.test
    ${tlsPair}
    origin: { url: "http://127.0.0.1:${plainPort}", response_timeout: 1s }
  - hostname: dead.example.test
    ${tlsPair}
    origin: { url: "http://127.0.0.1:${deadPort}", connect_timeout: 1s }
`,
    );
  });

  after(async () => {
    await edge?.stop();
    nginx?.kill("SIGTERM");
    plain?.closeAllConnections();
    plain?.close();
    await cleanup?.();
  });

  test("authenticated origin pull: nginx (ssl_verify_client on) sees the edge's certificate", async () => {
    const res = await curlEdge(pki, edge.port, "https://aop.example.test/whoami");
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body.trim(), "verify=SUCCESS dn=CN=edge.example.test,O=Portcullis");
  });

  test("without the AOP certificate, nginx's own 400 comes back", async () => {
    const res = await curlEdge(pki, edge.port, "https://noaop.example.test/whoami");
    assert.equal(res.status, 400);
    assert.match(res.body, /No required SSL certificate was sent/);
  });

  test("an origin certificate that origin.ca does not verify → 502 origin_tls_error", async () => {
    const res = await curlEdge(pki, edge.port, "https://wrongca.example.test/", ["-H", "Accept: application/json"]);
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.body).error.reason, "origin_tls_error");
  });

  test("an origin that is down → 502; one that does not answer → 504", async () => {
    const down = await curlEdge(pki, edge.port, "https://dead.example.test/");
    assert.equal(down.status, 502);
    assert.equal(down.headers["x-portcullis-reason"], "origin_unreachable");
    const slow = await curlEdge(pki, edge.port, "https://stream.example.test/hang");
    assert.equal(slow.status, 504);
    assert.equal(slow.headers["x-portcullis-reason"], "origin_timeout");
  });

  test("a 200 MB upload is streamed to the origin, not buffered in the edge", async () => {
    const baseline = await peakRssBytes(edge.child.pid ?? 0);
    const file = join(dir, "upload.bin");
    await writeFile(file, Buffer.alloc(200 * 1024 * 1024, 7));
    const res = await curlEdge(pki, edge.port, "https://stream.example.test/upload", [
      "--data-binary",
      `@${file}`,
      "-H",
      "Content-Type: application/octet-stream",
    ]);
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).received, 200 * 1024 * 1024);
    const growth = (await peakRssBytes(edge.child.pid ?? 0)) - baseline;
    assert.ok(growth < 64 * 1024 * 1024, `the edge's peak RSS grew by ${Math.round(growth / 1048576)} MiB`);
  });

  test("a 5 MB response streams back through HTTP/2", async () => {
    const res = await curlEdge(pki, edge.port, "https://stream.example.test/big", ["--http2", "-o", "/dev/null", "-w", "%{size_download}"]);
    assert.equal(res.status, 200);
    assert.equal(res.body, String(5 * 1024 * 1024));
  });

  test("WebSocket upgrade is tunnelled both ways", async () => {
    const ca = await readFile(pki.serverCa);
    const socket = tls.connect({ port: edge.port, host: "127.0.0.1", servername: "stream.example.test", ca, ALPNProtocols: ["http/1.1"] });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    socket.write(
      "GET /ws HTTP/1.1\r\nHost: stream.example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    await waitFor(() => received.includes("\r\n\r\n"));
    assert.match(received, /^HTTP\/1.1 101/);
    received = "";
    socket.write("ping-through-the-tunnel");
    await waitFor(() => received.includes("echo:ping-through-the-tunnel"));
    socket.destroy();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** nginx as a real origin that requires a client certificate from aop-ca (authenticated origin pull). */
async function startNginx(dir: string, port: number): Promise<ChildProcess> {
  const conf = `
worker_processes 1;
error_log ${dir}/nginx-error.log;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/origin.pem;
    ssl_certificate_key ${dir}/origin-key.pem;
    ssl_client_certificate ${dir}/aop-ca.pem;
    ssl_verify_client on;
    location / {
      default_type text/plain;
      return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\\n";
    }
  }
}
`;
  await writeFile(join(dir, "nginx.conf"), conf);
  const child = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: "ignore",
  });
  const started = Date.now();
  while (Date.now() - started < 10_000) {
    const up = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not start: ${await readFile(join(dir, "nginx-error.log"), "utf8").catch(() => "")}`);
}

/** A plain-HTTP origin: counts uploads, sends a big body, hangs on /hang, echoes WebSocket bytes. */
async function startPlainOrigin(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    if (req.url === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(Buffer.alloc(5 * 1024 * 1024, 1));
      return;
    }
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ received }));
    });
  });
  server.on("upgrade", (_req, socket) => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    socket.on("data", (chunk: Buffer) => socket.write(`echo:${chunk.toString("latin1")}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return server;
}
