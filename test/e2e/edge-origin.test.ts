/**
 * The proxy side of the edge: authenticated origin pull to a real nginx with `ssl_verify_client on`,
 * origin certificate verification, streamed bodies, WebSocket upgrades, 502/504.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { curlEdge, type EdgePki, type EdgeProcess, makeEdgePki, startEdgeProcess } from "../helpers/edge.ts";
import { startClientCertNginx } from "../helpers/nginx.ts";
import { makeCa, makeClientCert, makeServerCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl", "curl", "nginx");
const HOSTS = [
  "aop.example.test",
  "noaop.example.test",
  "wrongca.example.test",
  "stream.example.test",
  "dead.example.test",
];

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
    nginx = await startClientCertNginx(dir, nginxPort, "aop-ca");
    plain = await startPlainOrigin();
    plainPort = (plain.address() as AddressInfo).port;
    deadPort = await freePort();
    const tlsPair = "tls: { cert: server.pem, key: server-key.pem }";
    edge = await startEdgeProcess(
      dir,
      `
listen: { https: "127.0.0.1:{{HTTPS}}" }
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
    const res = await curlEdge(pki, edge.port, "https://wrongca.example.test/", [
      "-H",
      "Accept: application/json",
    ]);
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

  test("request bodies stream through: the origin reads the start before the client has sent the rest", async () => {
    // If the edge buffered the body, the origin would see nothing until the end, and this would deadlock.
    const ca = await readFile(pki.serverCa);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const req = https.request({
      host: "127.0.0.1",
      port: edge.port,
      servername: "stream.example.test",
      ca,
      method: "POST",
      path: "/upload",
      headers: { host: "stream.example.test", "content-type": "application/octet-stream" },
    });
    const response = new Promise<string>((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          body += d.toString();
        });
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
    });
    for (let i = 0; i < 4; i++) req.write(chunk);
    await waitFor(() => uploadProgress.received >= 2 * chunk.length, 10_000);
    for (let i = 0; i < 60; i++) req.write(chunk);
    req.end();
    assert.equal(JSON.parse(await response).received, 64 * chunk.length);
  });

  test("response bodies stream through: the client gets the start before the origin has sent the rest", async () => {
    const ca = await readFile(pki.serverCa);
    downloadProgress.clientReceived = 0;
    const total = await new Promise<number>((resolve, reject) => {
      const req = https.get(
        {
          host: "127.0.0.1",
          port: edge.port,
          servername: "stream.example.test",
          ca,
          path: "/drip",
          headers: { host: "stream.example.test" },
        },
        (res) => {
          let received = 0;
          res.on("data", (d: Buffer) => {
            received += d.length;
            downloadProgress.clientReceived = received;
          });
          res.on("end", () => resolve(received));
        },
      );
      req.on("error", reject);
    });
    assert.equal(total, 8 * 1024 * 1024);
  });

  test("a 5 MB response streams back through HTTP/2", async () => {
    const res = await curlEdge(pki, edge.port, "https://stream.example.test/big", [
      "--http2",
      "-o",
      "/dev/null",
      "-w",
      "%{size_download}",
    ]);
    assert.equal(res.status, 200);
    assert.equal(res.body, String(5 * 1024 * 1024));
  });

  test("WebSocket upgrade is tunnelled both ways", async () => {
    const ca = await readFile(pki.serverCa);
    const socket = tls.connect({
      port: edge.port,
      host: "127.0.0.1",
      servername: "stream.example.test",
      ca,
      ALPNProtocols: ["http/1.1"],
    });
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

/** How much of the current upload the plain origin has read. */
const uploadProgress = { received: 0 };
/** How much of the /drip response the test's client has read. */
const downloadProgress = { clientReceived: 0 };

/** A plain-HTTP origin: counts uploads, sends a big body, hangs on /hang, echoes WebSocket bytes. */
async function startPlainOrigin(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    if (req.url === "/drip") {
      // Half now; the rest only once the client has some of it (it could not if the edge buffered).
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(Buffer.alloc(4 * 1024 * 1024, 2));
      const timer = setInterval(() => {
        if (downloadProgress.clientReceived < 1024 * 1024) return;
        clearInterval(timer);
        res.end(Buffer.alloc(4 * 1024 * 1024, 3));
      }, 10);
      return;
    }
    if (req.url === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(Buffer.alloc(5 * 1024 * 1024, 1));
      return;
    }
    let received = 0;
    uploadProgress.received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      uploadProgress.received = received;
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
