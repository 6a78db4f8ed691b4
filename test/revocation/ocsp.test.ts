/**
 * OcspChecker against the real peer `openssl ocsp` as responder. A small HTTP proxy in front of the
 * responders routes by path (the certificates' AIA names `/ca`, `/delegated`, …) and counts requests, so
 * caching and request sharing are observed from the outside.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OcspChecker, OcspError } from "../../src/revocation/index.ts";
import { makeCa, makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";

const skip = missingPeer("openssl");

describe("OcspChecker with openssl ocsp as responder", { skip }, () => {
  let dir: string;
  let proxy: Proxy;
  /** Accepts TCP connections and closes them at once, counting them: a broken responder. */
  let dropper: Counter;
  /** Accepts TCP connections and never answers. */
  let silent: Counter;
  let closedPort: number;
  const responders: ChildProcess[] = [];
  const der: Record<string, Buffer> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-ocsp-"));
    proxy = await startProxy();
    dropper = await startCounter((socket) => socket.destroy());
    silent = await startCounter(() => {});
    closedPort = await freePort();

    await makeCa(dir, "ca");
    await makeCa(dir, "other-ca");
    const aia = (url: string) => ({ issuer: "ca", extensions: `authorityInfoAccess=OCSP;URI:${url}\n` });
    const via = (path: string) => aia(`${proxy.url}${path}`);
    for (const name of ["good", "revoked", "cached", "concurrent"])
      await makeClientCert(dir, name, via("/ca"));
    await makeClientCert(dir, "not-in-index", via("/ca"));
    await makeClientCert(dir, "delegated-good", via("/delegated"));
    await makeClientCert(dir, "delegated-revoked", via("/delegated"));
    await makeClientCert(dir, "wrong-key", via("/other-ca"));
    await makeClientCert(dir, "no-eku", via("/no-eku"));
    await makeClientCert(dir, "swapped", via("/swap"));
    await makeClientCert(dir, "no-next-update", via("/no-next-update"));
    await makeClientCert(dir, "three-days", via("/three-days"));
    await makeClientCert(dir, "refused", aia(`http://127.0.0.1:${closedPort}/`));
    await makeClientCert(dir, "dropped", aia(`http://127.0.0.1:${dropper.port}/`));
    await makeClientCert(dir, "silent", aia(`http://127.0.0.1:${silent.port}/`));
    await makeClientCert(dir, "no-aia", { issuer: "ca" });
    await makeClientCert(dir, "ldap-only", aia("ldap://127.0.0.1/cn=ocsp"));
    // Responder certificates: one delegated by the CA (id-kp-OCSPSigning), one without that EKU.
    await issueResponderCert(dir, "ocsp-signer", "extendedKeyUsage=OCSPSigning\n");
    await makeClientCert(dir, "plain-signer", { issuer: "ca" });

    const index = await caDatabase(dir, {
      valid: ["good", "cached", "concurrent", "delegated-good", "wrong-key", "no-eku", "swapped"],
      revoked: ["revoked", "delegated-revoked"],
    });
    const route = async (path: string, rsigner: string, validity = ["-nmin", "5"]) =>
      proxy.routes.set(path, await startResponder(dir, index, rsigner, validity, responders));
    await route("/ca", "ca");
    await route("/delegated", "ocsp-signer");
    await route("/other-ca", "other-ca");
    await route("/no-eku", "plain-signer");
    await route("/no-next-update", "ca", []);
    await route("/three-days", "ca", ["-ndays", "3"]);
    proxy.routes.set("/swap", proxy.routes.get("/ca") as number);
    proxy.swapped.add("/swap");

    for (const name of [
      "ca",
      "good",
      "revoked",
      "cached",
      "concurrent",
      "not-in-index",
      "delegated-good",
      "delegated-revoked",
      "wrong-key",
      "no-eku",
      "swapped",
      "no-next-update",
      "three-days",
      "refused",
      "dropped",
      "silent",
      "no-aia",
      "ldap-only",
    ]) {
      der[name] = new X509Certificate(await readFile(join(dir, `${name}.pem`))).raw;
    }
  });

  after(async () => {
    for (const child of responders) child.kill();
    await proxy?.stop();
    await dropper?.stop();
    await silent?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cert = (name: string) => der[name] as Buffer;
  const checker = (now?: () => number) => new OcspChecker({ timeoutMs: 3000, ...(now ? { now } : {}) });

  test("a certificate the CA lists as valid is good, signed by the CA itself", async () => {
    const before = Date.now();
    const result = await checker().check(cert("good"), cert("ca"));
    assert.equal(result.status, "good");
    // openssl ocsp -nmin 5: nextUpdate is five minutes after thisUpdate.
    assert.ok(result.expiresAtMs > before + 4 * 60_000, `expiresAtMs ${result.expiresAtMs}`);
    assert.ok(result.expiresAtMs <= Date.now() + 5 * 60_000 + 1000, `expiresAtMs ${result.expiresAtMs}`);
    assert.equal(proxy.count("/ca") > 0, true);
  });

  test("a revoked certificate is revoked", async () => {
    assert.equal((await checker().check(cert("revoked"), cert("ca"))).status, "revoked");
  });

  test("a serial the responder does not know is unknown", async () => {
    assert.equal((await checker().check(cert("not-in-index"), cert("ca"))).status, "unknown");
  });

  test("a response signed by a delegated responder (EKU OCSPSigning, issued by the CA) is accepted", async () => {
    const c = checker();
    assert.equal((await c.check(cert("delegated-good"), cert("ca"))).status, "good");
    assert.equal((await c.check(cert("delegated-revoked"), cert("ca"))).status, "revoked");
  });

  test("a response signed by a CA-issued certificate without EKU OCSPSigning is bad_response", async () => {
    await assertOcspError(
      checker().check(cert("no-eku"), cert("ca")),
      "bad_response",
      /not signed by the issuer/,
    );
  });

  test("a response signed by an unrelated CA's key is bad_response", async () => {
    await assertOcspError(
      checker().check(cert("wrong-key"), cert("ca")),
      "bad_response",
      /not signed by the issuer/,
    );
  });

  test("a CA-signed response about another certificate is bad_response (CertID mismatch)", async () => {
    // The proxy sends the responder the last request seen on /ca (for another certificate) instead.
    await checker().check(cert("good"), cert("ca"));
    await assertOcspError(checker().check(cert("swapped"), cert("ca")), "bad_response", /CertID mismatch/);
  });

  test("without nextUpdate an answer expires an hour after thisUpdate", async () => {
    const before = Date.now();
    const result = await checker().check(cert("no-next-update"), cert("ca"));
    assert.equal(result.status, "unknown"); // not in the index: any status does here
    assert.ok(result.expiresAtMs >= before + 60 * 60_000 - 1000, `expiresAtMs ${result.expiresAtMs}`);
    assert.ok(result.expiresAtMs <= Date.now() + 60 * 60_000, `expiresAtMs ${result.expiresAtMs}`);
  });

  test("a nextUpdate days away is capped at 24 hours", async () => {
    const now = Date.now();
    const result = await checker(() => now).check(cert("three-days"), cert("ca"));
    assert.equal(result.expiresAtMs, now + 24 * 60 * 60_000);
  });

  test("an answer is cached until it expires: a second check makes no request", async () => {
    let now = Date.now();
    const c = checker(() => now);
    const first = await c.check(cert("cached"), cert("ca"));
    const asked = proxy.count("/ca");
    assert.deepEqual(await c.check(cert("cached"), cert("ca")), first);
    assert.equal(proxy.count("/ca"), asked, "the second check went to the responder");
    now = first.expiresAtMs - 1;
    await c.check(cert("cached"), cert("ca"));
    assert.equal(proxy.count("/ca"), asked, "asked again before expiresAtMs");
    now = first.expiresAtMs + 1;
    // openssl's nextUpdate is 5 minutes after its clock; this checker's clock is past it, so the fresh
    // answer would be refused as stale: this only proves a new request is made.
    await c.check(cert("cached"), cert("ca")).catch(() => {});
    assert.equal(proxy.count("/ca"), asked + 1, "did not ask again after expiresAtMs");
  });

  test("concurrent checks of one certificate share one request", async () => {
    const c = checker();
    const asked = proxy.count("/ca");
    const results = await Promise.all([1, 2, 3, 4].map(() => c.check(cert("concurrent"), cert("ca"))));
    assert.deepEqual(
      results.map((r) => r.status),
      ["good", "good", "good", "good"],
    );
    assert.equal(proxy.count("/ca"), asked + 1);
  });

  test("a responder that refuses connections is unreachable", async () => {
    await assertOcspError(checker().check(cert("refused"), cert("ca")), "unreachable", /ECONNREFUSED/);
  });

  test("a failure is cached for 30 s, then asked again", async () => {
    let now = Date.now();
    const c = checker(() => now);
    const connections = dropper.count();
    const first = await assertOcspError(c.check(cert("dropped"), cert("ca")), "unreachable", /POST http/);
    assert.equal(dropper.count(), connections + 1);
    now += 29_000;
    assert.equal(await c.check(cert("dropped"), cert("ca")).catch((e: unknown) => e), first);
    assert.equal(dropper.count(), connections + 1, "the cached failure went to the responder");
    now += 2_000;
    await assertOcspError(c.check(cert("dropped"), cert("ca")), "unreachable", /POST http/);
    assert.equal(dropper.count(), connections + 2, "did not retry after 30 s");
  });

  test("a responder that never answers times out as unreachable", async () => {
    const c = new OcspChecker({ timeoutMs: 300 });
    const started = Date.now();
    await assertOcspError(c.check(cert("silent"), cert("ca")), "unreachable", /timed out after 300 ms/);
    assert.ok(Date.now() - started < 2500);
  });

  test("no AIA OCSP URL, or only a non-http one, is no_responder", async () => {
    await assertOcspError(checker().check(cert("no-aia"), cert("ca")), "no_responder", /OCSP responder/);
    await assertOcspError(checker().check(cert("ldap-only"), cert("ca")), "no_responder", /http:\/\//);
  });

  test("a response whose nextUpdate has passed is bad_response", async () => {
    const c = checker(() => Date.now() + 10 * 60_000);
    await assertOcspError(c.check(cert("good"), cert("ca")), "bad_response", /nextUpdate .* has passed/);
  });

  test("a response whose thisUpdate is more than 5 minutes ahead is bad_response", async () => {
    const c = checker(() => Date.now() - 6 * 60_000);
    await assertOcspError(c.check(cert("good"), cert("ca")), "bad_response", /thisUpdate .* in the future/);
    const tolerant = checker(() => Date.now() - 4 * 60_000);
    assert.equal((await tolerant.check(cert("good"), cert("ca"))).status, "good");
  });
});

async function assertOcspError(promise: Promise<unknown>, code: string, message: RegExp): Promise<OcspError> {
  const err = await promise.then(
    (value) => assert.fail(`expected OcspError ${code}, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OcspError, `not an OcspError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  assert.doesNotMatch(err.message, /\n/);
  return err;
}

/** A certificate issued by `ca` with exactly the given extensions (makeClientCert adds clientAuth). */
async function issueResponderCert(dir: string, name: string, extensions: string): Promise<void> {
  const cwd = { cwd: dir };
  await openssl(
    ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}-key.pem`],
    cwd,
  );
  await openssl(
    ["req", "-new", "-key", `${name}-key.pem`, "-subj", `/CN=${name}`, "-out", `${name}.csr`],
    cwd,
  );
  await writeFile(
    join(dir, `${name}.ext`),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${extensions}`,
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-set_serial",
      "0x0c5b",
    ].concat(["-days", "30", "-extfile", `${name}.ext`, "-out", `${name}.pem`]),
    cwd,
  );
}

/** An `openssl ca` database (index.txt) with the given certificates marked valid or revoked. */
async function caDatabase(dir: string, certs: { valid: string[]; revoked: string[] }): Promise<string> {
  const index = join(dir, "index.txt");
  await writeFile(index, "");
  const conf = join(dir, "ca.cnf");
  await writeFile(
    conf,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `database = ${index}`,
      `certificate = ${join(dir, "ca.pem")}`,
      `private_key = ${join(dir, "ca-key.pem")}`,
      "default_md = sha256",
      "unique_subject = no",
      "",
    ].join("\n"),
  );
  for (const name of certs.valid) await openssl(["ca", "-config", conf, "-valid", join(dir, `${name}.pem`)]);
  for (const name of certs.revoked)
    await openssl(["ca", "-config", conf, "-revoke", join(dir, `${name}.pem`)]);
  return index;
}

/** `openssl ocsp` on a port of its choosing; resolves to that port once it listens. */
function startResponder(
  dir: string,
  index: string,
  rsigner: string,
  validity: string[],
  children: ChildProcess[],
): Promise<number> {
  const child = spawn(
    "openssl",
    [
      "ocsp",
      "-index",
      index,
      "-port",
      "0",
      "-rsigner",
      `${rsigner}.pem`,
      "-rkey",
      `${rsigner}-key.pem`,
    ].concat(["-CA", "ca.pem", ...validity, "-ignore_err"]),
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    // OpenSSL 3 prints `ACCEPT [::]:PORT PID=…` on stdout once it listens.
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /ACCEPT .*:(\d+) /.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("exit", (code) => reject(new Error(`openssl ocsp exited ${code}: ${stderr}`)));
  });
}

interface Proxy {
  url: string;
  /** Path → the port of the responder behind it. */
  routes: Map<string, number>;
  /** Paths whose requests are replaced by the last request seen on /ca. */
  swapped: Set<string>;
  count(path: string): number;
  stop(): Promise<void>;
}

/** Forwards each POST to the responder for its path and counts them. */
async function startProxy(): Promise<Proxy> {
  const routes = new Map<string, number>();
  const counts = new Map<string, number>();
  const swapped = new Set<string>();
  let lastCaRequest = Buffer.alloc(0);
  const server = http.createServer(async (req, res) => {
    const path = req.url ?? "";
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = swapped.has(path) ? lastCaRequest : Buffer.concat(chunks);
    if (path === "/ca") lastCaRequest = body;
    const port = routes.get(path);
    if (!port) return res.writeHead(404).end();
    const upstream = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: { "content-type": req.headers["content-type"] ?? "" },
      body,
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    swapped,
    count: (path) => counts.get(path) ?? 0,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Counter {
  port: number;
  count(): number;
  stop(): Promise<void>;
}

async function startCounter(onConnection: (socket: net.Socket) => void): Promise<Counter> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    count: () => connections,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
