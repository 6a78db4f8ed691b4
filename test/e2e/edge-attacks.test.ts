/**
 * Attacks on the data path that have worked against popular proxies (../shared/reference/peers.md):
 * each must fail here, driven by real clients, and none may take the edge down.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  clientCertArgs,
  curlEdge,
  type EchoOrigin,
  type EdgePki,
  type EdgeProcess,
  makeEdgePki,
  opensslCrl,
  startEchoOrigin,
  startEdgeProcess,
} from "../helpers/edge.ts";
import { makeCa, makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl", "curl");
const HOSTS = ["api.example.test", "public.example.test", "open.example.test"];

describe("edge: attacks", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let origin: EchoOrigin;
  let edge: EdgeProcess;
  let later: { cert: string; key: string };

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, HOSTS);
    const l = await makeClientCert(dir, "later-revoked", { issuer: "client-ca" });
    later = { cert: l.certPath, key: l.keyPath };
    await opensslCrl(dir, "client-ca", [], "client-ca.crl");
    origin = await startEchoOrigin();
    const tls = "tls: { cert: server.pem, key: server-key.pem }";
    edge = await startEdgeProcess(
      dir,
      `
listen: { https: "127.0.0.1:{{HTTPS}}" }
admin: "127.0.0.1:{{ADMIN}}"
limits: { client_hello_timeout: 1s, handshake_timeout: 2s }
hostnames:
  - hostname: api.example.test
    ${tls}
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: [client-ca.crl], max_chain_depth: 4 }
    origin: { url: "${origin.url}" }
    forward: [cloudflare]
  - hostname: public.example.test
    ${tls}
    origin: { url: "${origin.url}" }
  - hostname: open.example.test
    ${tls}
    mtls: { mode: permissive, trusted_cas: [client-ca.pem] }
    origin: { url: "${origin.url}" }
    forward: [cloudflare, access, rfc9440]
`,
    );
  });

  after(async () => {
    await edge?.stop();
    await origin?.stop();
    await cleanup?.();
  });

  /** openssl s_client sends one HTTP/1.1 request; returns everything it printed. */
  async function sClient(args: readonly string[], hostHeader = "api.example.test"): Promise<string> {
    const result = await run(
      "sh",
      [
        "-c",
        `(printf 'GET / HTTP/1.1\\r\\nHost: ${hostHeader}\\r\\nConnection: close\\r\\n\\r\\n'; sleep 1) | ` +
          `openssl s_client -connect 127.0.0.1:${edge.port} -ign_eof ${args.join(" ")} 2>&1`,
      ],
      { timeoutMs: 20_000 },
    );
    return result.stdout;
  }

  for (const version of ["-tls1_2", "-tls1_3"]) {
    test(`resumption ${version}: a session without a certificate is never resumed on an mTLS host`, async () => {
      const session = join(dir, `nocert${version}.sess`);
      const first = await sClient([version, "-servername", "api.example.test", "-sess_out", session]);
      assert.match(first, /HTTP\/1.1 403/);
      const second = await sClient([version, "-servername", "api.example.test", "-sess_in", session]);
      assert.doesNotMatch(second, /^Reused,/m);
      assert.match(second, /HTTP\/1.1 403/);
    });

    test(`resumption ${version}: a session from a public host does not open the mTLS host`, async () => {
      const session = join(dir, `public${version}.sess`);
      await sClient(
        [version, "-servername", "public.example.test", "-sess_out", session],
        "public.example.test",
      );
      const second = await sClient([version, "-servername", "api.example.test", "-sess_in", session]);
      assert.doesNotMatch(second, /^Reused,/m);
      assert.match(second, /HTTP\/1.1 403/);
    });

    test(`resumption ${version}: a session made with a valid certificate is not resumed without one`, async () => {
      const session = join(dir, `cert${version}.sess`);
      const certArgs = ["-cert", pki.client.cert, "-key", pki.client.key];
      const first = await sClient([
        version,
        "-servername",
        "api.example.test",
        ...certArgs,
        "-sess_out",
        session,
      ]);
      assert.match(first, /HTTP\/1.1 200/);
      const second = await sClient([version, "-servername", "api.example.test", "-sess_in", session]);
      assert.doesNotMatch(second, /^Reused,/m);
      assert.match(second, /HTTP\/1.1 403/);
    });
  }

  test("a certificate revoked while its connection stays open is refused on the next request", async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const ca = await readFile(pki.serverCa);
    const cert = await readFile(later.cert);
    const key = await readFile(later.key);
    const get = () =>
      new Promise<{ status: number; port: number }>((resolve, reject) => {
        const req = https.request(
          {
            host: "127.0.0.1",
            port: edge.port,
            servername: "api.example.test",
            headers: { host: "api.example.test" },
            agent,
            ca,
            cert,
            key,
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, port: req.socket?.localPort ?? 0 }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const before = await get();
    assert.equal(before.status, 200);
    await opensslCrl(dir, "client-ca", [later.cert], "client-ca.crl");
    await edge.waitForLog((l) => l.event === "crl_changed");
    await new Promise((r) => setTimeout(r, 300));
    const afterRevocation = await get();
    assert.equal(afterRevocation.port, before.port, "the same connection was reused");
    assert.equal(afterRevocation.status, 403);
    agent.destroy();
  });

  test("Host different from SNI on an mTLS host → 421, both ways", async () => {
    const toPublic = await curlEdge(pki, edge.port, "https://api.example.test/", [
      "-H",
      "Host: public.example.test",
      ...clientCertArgs(pki.client),
    ]);
    assert.equal(toPublic.status, 421);
    const toMtls = await curlEdge(pki, edge.port, "https://public.example.test/", [
      "-H",
      "Host: api.example.test",
    ]);
    assert.equal(toMtls.status, 421);
    assert.equal(toMtls.headers["x-portcullis-reason"], "host_mismatch");
  });

  test("HTTP/2 coalescing: a connection made for the public host cannot reach the mTLS host", async () => {
    const ca = await readFile(pki.serverCa);
    const session = http2.connect(`https://127.0.0.1:${edge.port}`, {
      ca,
      servername: "public.example.test",
    });
    const status = (authority: string) =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/", ":authority": authority });
        stream.on("response", (headers) => resolve(Number(headers[":status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end();
      });
    assert.equal(await status("public.example.test"), 200);
    assert.equal(await status("api.example.test"), 421);
    assert.equal(await status(`api.example.test:${edge.port}`), 421);
    session.close();
  });

  test("client-sent identity headers of every format, in any case, are stripped", async () => {
    const spoofed = [
      "CF-Cert-Verified: true",
      "cf-cert-presented: true",
      "Cf-Cert-Subject-Dn: CN=admin",
      "Cf-Client-Cert-Sha256: 00",
      "Cf-Client-Cert-Der-Base64: AAAA",
      "CLIENT-CERT: :AAAA:",
      "Client-Cert-Chain: :AAAA:",
      'X-Forwarded-Client-Cert: Hash=00;Subject="CN=admin"',
      "x-ssl-client-verify: SUCCESS",
      "X-SSL-Client-S-DN: CN=admin",
      "X-Forwarded-Tls-Client-Cert: AAAA",
      "X-Forwarded-Tls-Client-Cert-Info: Subject%3D%22CN%3Dadmin%22",
      "X-Forwarded-For: 10.0.0.1",
      "Forwarded: for=10.0.0.1",
    ];
    const res = await curlEdge(
      pki,
      edge.port,
      "https://open.example.test/",
      spoofed.flatMap((h) => ["-H", h]),
    );
    assert.equal(res.status, 200);
    const seen = origin.last()?.headers ?? {};
    assert.equal(seen["cf-cert-presented"], "false");
    assert.equal(seen["cf-cert-verified"], "false");
    assert.ok(!seen["cf-cert-subject-dn"], "no subject without a certificate");
    for (const name of [
      "cf-client-cert-sha256",
      "cf-client-cert-der-base64",
      "client-cert",
      "client-cert-chain",
      "x-forwarded-client-cert",
      "x-ssl-client-verify",
      "x-ssl-client-s-dn",
      "x-forwarded-tls-client-cert",
      "x-forwarded-tls-client-cert-info",
    ]) {
      assert.equal(seen[name], undefined, `${name} must not reach the origin`);
    }
    assert.equal(seen["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen.forwarded, `for=127.0.0.1;proto=https;host="open.example.test:${edge.port}"`);
  });

  test("a ClientHello fragmented into 1-byte records and split TCP segments still gets the mTLS host", async () => {
    const proxy = await fragmentingProxy(edge.port);
    try {
      const run1 = await run(
        "sh",
        [
          "-c",
          `(printf 'GET / HTTP/1.1\\r\\nHost: api.example.test\\r\\nConnection: close\\r\\n\\r\\n'; sleep 1) | ` +
            `openssl s_client -connect 127.0.0.1:${proxy.port} -servername api.example.test -ign_eof 2>&1`,
        ],
        { timeoutMs: 20_000 },
      );
      assert.ok(proxy.fragments() > 50, `the hello went out in ${proxy.fragments()} records`);
      assert.match(run1.stdout, /HTTP\/1.1 403/);
      assert.match(run1.stdout, /Acceptable client certificate CA names/);
    } finally {
      proxy.stop();
    }
  });

  test("no SNI and no default host → TLS unrecognized_name alert", async () => {
    const result = await run("curl", ["-sS", "--cacert", pki.serverCa, `https://127.0.0.1:${edge.port}/`]);
    assert.equal(result.code, 35, result.stderr);
    assert.match(result.stderr, /unrecognized name/i);
  });

  test("a chain of 50 certificates is refused and the edge stays up", async () => {
    let issuer = "client-ca";
    for (let i = 0; i < 49; i++) {
      await makeCa(dir, `deep-${i}`, { issuer });
      issuer = `deep-${i}`;
    }
    const leaf = await makeClientCert(dir, "deep-leaf", { issuer });
    const parts = [await readFile(leaf.certPath, "utf8")];
    for (let i = 48; i >= 0; i--) parts.push(await readFile(join(dir, `deep-${i}.pem`), "utf8"));
    await writeFile(join(dir, "deep-chain.pem"), parts.join(""));
    const res = await curlEdge(pki, edge.port, "https://api.example.test/", [
      "--cert",
      join(dir, "deep-chain.pem"),
      "--key",
      leaf.keyPath,
    ]);
    assert.equal(res.status, 403);
    assert.equal(res.headers["x-portcullis-reason"], "chain_too_long");
    await assertStillServing();
  });

  test("a 100 KB certificate is refused and the edge stays up", async () => {
    const big = join(dir, "big.ext");
    await writeFile(
      big,
      `basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=${Array.from(
        { length: 3600 },
        (_, i) => `DNS:host-${i}.padding.example.test`,
      ).join(",")}\n`,
    );
    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "big-key.pem"],
      {
        cwd: dir,
      },
    );
    await openssl(["req", "-new", "-key", "big-key.pem", "-subj", "/CN=big", "-out", "big.csr"], {
      cwd: dir,
    });
    await openssl(
      ["x509", "-req", "-in", "big.csr", "-CA", "client-ca.pem", "-CAkey", "client-ca-key.pem"].concat([
        "-days",
        "1",
        "-extfile",
        "big.ext",
        "-out",
        "big.pem",
      ]),
      { cwd: dir },
    );
    const der = await openssl(["x509", "-in", join(dir, "big.pem"), "-outform", "DER"]);
    assert.ok(der.raw.length > 102_400, `certificate is ${der.raw.length} bytes`);
    const result = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--resolve",
      `api.example.test:${edge.port}:127.0.0.1`,
      "--cacert",
      pki.serverCa,
      "--cert",
      join(dir, "big.pem"),
      "--key",
      join(dir, "big-key.pem"),
      `https://api.example.test:${edge.port}/`,
    ]);
    assert.notEqual(result.stdout, "200", "a 100 KB certificate must not get through");
    await assertStillServing();
  });

  test("a client that sends nothing, or half a ClientHello, is cut off after the timeout", async () => {
    for (const payload of [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])]) {
      const started = Date.now();
      const closed = await new Promise<boolean>((resolve) => {
        const socket = net.connect(edge.port, "127.0.0.1", () => socket.write(payload));
        socket.on("close", () => resolve(true));
        socket.on("error", () => {});
        setTimeout(() => {
          socket.destroy();
          resolve(false);
        }, 8000);
      });
      assert.ok(closed, "the edge closed the connection");
      assert.ok(Date.now() - started < 6000);
    }
    await assertStillServing();
  });

  async function assertStillServing(): Promise<void> {
    assert.equal(edge.child.exitCode, null, "the edge process is still running");
    const res = await curlEdge(pki, edge.port, "https://api.example.test/", clientCertArgs(pki.client));
    assert.equal(res.status, 200);
  }
});

/**
 * A TCP proxy that re-frames the client's first TLS record (the ClientHello) as one TLS record per byte,
 * each written as its own TCP segment, and passes everything else through untouched.
 */
async function fragmentingProxy(
  target: number,
): Promise<{ port: number; fragments(): number; stop(): void }> {
  let fragments = 0;
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(target, "127.0.0.1");
    upstream.setNoDelay(true);
    let pending = Buffer.alloc(0);
    let helloDone = false;
    client.on("data", async (chunk: Buffer) => {
      if (helloDone) {
        upstream.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 5) return;
      const length = pending.readUInt16BE(3);
      if (pending.length < 5 + length) return;
      helloDone = true;
      client.pause();
      const header = pending.subarray(0, 3);
      for (const byte of pending.subarray(5, 5 + length)) {
        upstream.write(Buffer.concat([header, Buffer.from([0, 1, byte])]));
        fragments++;
        if (fragments % 64 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      upstream.write(pending.subarray(5 + length));
      client.resume();
    });
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    fragments: () => fragments,
    stop: () => server.close(),
  };
}
