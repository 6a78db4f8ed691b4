/**
 * Running the edge: config errors, live reloads (file change, SIGHUP) without dropping requests, a bad
 * new config refused, several workers, CRLs from URLs with a disk cache, and stale CRLs.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  clientCertArgs,
  curlEdge,
  type EdgePki,
  type EdgeProcess,
  makeEdgePki,
  opensslCrl,
  startEdgeProcess,
} from "../helpers/edge.ts";
import { makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl", "curl");
const HOSTS = ["api.example.test", "stale.example.test", "lenient.example.test", "remote.example.test"];

describe("edge: operations", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let origin: http.Server;
  let originUrl: string;
  const running: EdgeProcess[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, HOSTS);
    origin = http.createServer((req, res) => {
      const delay = req.url === "/slow" ? 1500 : 0;
      setTimeout(() => res.end(`ok ${req.url}`), delay);
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", () => resolve()));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const edge of running) await edge.stop();
    origin.closeAllConnections();
    origin.close();
    await cleanup?.();
  });

  async function start(config: string, workers = 1): Promise<EdgeProcess> {
    const edge = await startEdgeProcess(dir, config, workers);
    running.push(edge);
    return edge;
  }

  const host = (mode: string, extra = "") => `
listen: { https: "127.0.0.1:{{HTTPS}}" }
admin: "127.0.0.1:{{ADMIN}}"
hostnames:
  - hostname: api.example.test
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: ${mode}, trusted_cas: [client-ca.pem] ${extra} }
    origin: { url: "${originUrl}" }
`;

  test("a bad config: one line naming the file and the YAML path, exit 1, nothing served", async () => {
    await writeFile(
      join(dir, "bad.yaml"),
      host("enforced").replace("{{HTTPS}}", "18999").replace("{{ADMIN}}", "18998"),
    );
    const result = await portcullis(["edge", "--config", "bad.yaml", "--workers", "1"], { cwd: dir });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'portcullis edge: bad.yaml:7:19: hostnames[0].mtls.mode: expected one of enforce, permissive, off, got "enforced"\n',
    );
    await writeFile(
      join(dir, "mismatch.yaml"),
      host("enforce")
        .replace("key: server-key.pem", "key: client-key.pem")
        .replace("{{HTTPS}}", "18999")
        .replace("{{ADMIN}}", "18998"),
    );
    const mismatch = await portcullis(["edge", "--config", "mismatch.yaml", "--workers", "1"], { cwd: dir });
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /^portcullis edge: mismatch\.yaml:6:\d+: hostnames\[0\]\.tls\.key: key does not match/,
    );
    assert.equal(mismatch.stderr.trim().split("\n").length, 1);
    await writeFile(join(dir, "garbage.crl"), "not a CRL\n");
    await writeFile(
      join(dir, "badcrl.yaml"),
      host("enforce", ", crls: [garbage.crl]").replace("{{HTTPS}}", "18999").replace("{{ADMIN}}", "18998"),
    );
    const badCrl = await portcullis(["edge", "--config", "badcrl.yaml", "--workers", "1"], { cwd: dir });
    assert.equal(badCrl.code, 1);
    assert.match(
      badCrl.stderr,
      /^portcullis edge: badcrl\.yaml: hostnames\[0\]\.mtls\.crls\[0\]: \S*garbage\.crl: not a valid CRL/,
    );
    assert.equal(badCrl.stderr.trim().split("\n").length, 1);
  });

  test("a config change applies without a restart and without dropping a request in flight", async () => {
    const edge = await start(host("permissive"));
    assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 200);
    const slow = curlEdge(pki, edge.port, "https://api.example.test/slow");
    await new Promise((r) => setTimeout(r, 300));
    const file = join(dir, "portcullis.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace("mode: permissive", "mode: enforce"));
    await edge.waitForLog((l) => l.event === "config_reloaded");
    assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 403);
    const inFlight = await slow;
    assert.equal(inFlight.status, 200);
    assert.equal(inFlight.body, "ok /slow");

    // A broken edit is refused; the last good config keeps serving.
    await writeFile(file, (await readFile(file, "utf8")).replace("mode: enforce", "mode: [oops"));
    const refused = await edge.waitForLog((l) => l.event === "config_refused");
    assert.match(String(refused.error), /portcullis\.yaml:\d+:\d+/);
    assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 403);
    const ok = await curlEdge(pki, edge.port, "https://api.example.test/", clientCertArgs(pki.client));
    assert.equal(ok.status, 200);

    // SIGHUP reloads too.
    await writeFile(file, (await readFile(file, "utf8")).replace("mode: [oops", "mode: off"));
    await edge.waitForLog((l) => l.event === "config_reloaded" && l.why === "config file changed");
    edge.child.kill("SIGHUP");
    await edge.waitForLog((l) => l.event === "config_reloaded" && l.why === "SIGHUP");
    assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 200);
    await edge.stop();
  });

  test("two workers serve the same Snapshot and both take a reload", async () => {
    const edge = await start(host("enforce"), 2);
    for (let i = 0; i < 6; i++) {
      assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 403);
      const ok = await curlEdge(pki, edge.port, "https://api.example.test/", clientCertArgs(pki.client));
      assert.equal(ok.status, 200);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${edge.adminPort}/metrics`)).text();
    const denied = /portcullis_requests_total\{host="api.example.test",result="denied"\} (\d+)/.exec(metrics);
    assert.equal(Number(denied?.[1]), 6, "metrics are summed over both workers");
    const file = join(dir, "portcullis.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace("mode: enforce", "mode: permissive"));
    await edge.waitForLog((l) => l.event === "config_reloaded");
    for (let i = 0; i < 6; i++) {
      assert.equal((await curlEdge(pki, edge.port, "https://api.example.test/")).status, 200);
    }
    await edge.stop();
  });

  test("CRLs: from a URL with a disk cache, fail closed when unavailable, stale ones per host", async () => {
    const revoked = await makeClientCert(dir, "url-revoked", { issuer: "client-ca" });
    const crl = await opensslCrl(dir, "client-ca", [revoked.certPath], "served.crl");
    const crlBody = await readFile(crl);
    let serving = true;
    const crlServer = http.createServer((_req, res) => {
      if (!serving) return void res.writeHead(503).end();
      res.writeHead(200, { "content-type": "application/pkix-crl" }).end(crlBody);
    });
    await new Promise<void>((resolve) => crlServer.listen(0, "127.0.0.1", () => resolve()));
    const crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/client-ca.crl`;
    // A CRL whose nextUpdate has passed.
    const staleCrl = join(dir, "stale.crl");
    await openssl([
      "ca",
      "-config",
      join(dir, "client-ca-ca.cnf"),
      "-gencrl",
      "-crl_lastupdate",
      "20200101000000Z",
      "-crl_nextupdate",
      "20200108000000Z",
      "-out",
      staleCrl,
    ]);
    const config = (url: string) => `
listen: { https: "127.0.0.1:{{HTTPS}}" }
data_dir: state
hostnames:
  - hostname: remote.example.test
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: ["${url}"] }
    origin: { url: "${originUrl}" }
  - hostname: stale.example.test
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: [stale.crl] }
    origin: { url: "${originUrl}" }
  - hostname: lenient.example.test
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: [stale.crl], stale_crl: allow }
    origin: { url: "${originUrl}" }
`;
    const revokedArgs = clientCertArgs({ cert: revoked.certPath, key: revoked.keyPath });
    const good = clientCertArgs(pki.client);
    try {
      let edge = await start(config(crlUrl));
      assert.equal((await curlEdge(pki, edge.port, "https://remote.example.test/", revokedArgs)).status, 403);
      assert.equal((await curlEdge(pki, edge.port, "https://remote.example.test/", good)).status, 200);
      const stale = await curlEdge(pki, edge.port, "https://stale.example.test/", good);
      assert.equal(stale.status, 403);
      assert.equal(stale.headers["x-portcullis-reason"], "crl_expired");
      assert.equal((await curlEdge(pki, edge.port, "https://lenient.example.test/", good)).status, 200);
      await edge.stop();

      // The CRL server is down: the copy cached on disk still revokes.
      serving = false;
      edge = await start(config(crlUrl));
      assert.equal((await curlEdge(pki, edge.port, "https://remote.example.test/", revokedArgs)).status, 403);
      assert.equal((await curlEdge(pki, edge.port, "https://remote.example.test/", good)).status, 200);
      await edge.stop();

      // Never fetched and nothing cached: fail closed.
      edge = await start(config(`${crlUrl}?never-seen`));
      const closed = await curlEdge(pki, edge.port, "https://remote.example.test/", good);
      assert.equal(closed.status, 403);
      assert.equal(closed.headers["x-portcullis-reason"], "crl_unavailable");
      await edge.stop();
    } finally {
      crlServer.close();
    }
  });
});
