/**
 * The edge's mTLS modes end to end: `portcullis edge` in its own process, curl and openssl s_client as
 * clients, an echo origin that reports what it received.
 */
import assert from "node:assert/strict";
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
import { makeClientCert, makeServerCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl", "curl");
const HOSTS = [
  "api.example.test",
  "public.example.test",
  "open.example.test",
  "mixed.example.test",
  "partner.example.test",
  "dual.example.test",
];

describe("edge: mTLS modes", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let origin: EchoOrigin;
  let edge: EdgeProcess;
  let revoked: { cert: string; key: string };

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, HOSTS);
    const r = await makeClientCert(dir, "revoked-client", { issuer: "client-ca" });
    revoked = { cert: r.certPath, key: r.keyPath };
    await opensslCrl(dir, "client-ca", [r.certPath], "client-ca.crl");
    await makeServerCert(dir, "server-rsa", {
      issuer: "server-ca",
      key: "rsa",
      san: "DNS:dual.example.test",
    });
    origin = await startEchoOrigin();
    const tls = "tls: { cert: server.pem, key: server-key.pem }";
    edge = await startEdgeProcess(
      dir,
      `
listen: { https: "127.0.0.1:{{HTTPS}}", http: "127.0.0.1:{{HTTP}}" }
admin: "127.0.0.1:{{ADMIN}}"
hostnames:
  - hostname: api.example.test
    ${tls}
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: [client-ca.crl] }
    origin: { url: "${origin.url}" }
    forward: [cloudflare, rfc9440]
  - hostname: public.example.test
    default: true
    ${tls}
    origin: { url: "${origin.url}" }
    forward: [cloudflare]
  - hostname: dual.example.test
    tls: [{ cert: server-rsa.pem, key: server-rsa-key.pem }, { cert: server.pem, key: server-key.pem }]
    origin: { url: "${origin.url}" }
  - hostname: partner.example.test
    ${tls}
    mtls: { mode: enforce, trusted_cas: [other-ca.pem] }
    origin: { url: "${origin.url}" }
  - hostname: open.example.test
    ${tls}
    mtls: { mode: permissive, trusted_cas: [client-ca.pem] }
    origin: { url: "${origin.url}" }
    forward: [cloudflare]
  - hostname: mixed.example.test
    ${tls}
    mtls: { mode: off, trusted_cas: [client-ca.pem], paths: [{ prefix: /admin, mode: enforce }] }
    origin: { url: "${origin.url}" }
`,
    );
  });

  after(async () => {
    await edge?.stop();
    await origin?.stop();
    await cleanup?.();
  });

  test("enforce: a valid certificate reaches the origin, which learns who the client is", async () => {
    const res = await curlEdge(
      pki,
      edge.port,
      "https://api.example.test/hello?x=1",
      clientCertArgs(pki.client),
    );
    assert.equal(res.status, 200, res.body);
    const seen = origin.last();
    assert.equal(seen?.url, "/hello?x=1");
    assert.equal(seen?.headers.host, `api.example.test:${edge.port}`);
    assert.equal(seen?.headers["cf-cert-presented"], "true");
    assert.equal(seen?.headers["cf-cert-verified"], "true");
    assert.equal(seen?.headers["cf-cert-revoked"], "false");
    const subject = await openssl([
      "x509",
      "-in",
      pki.client.cert,
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253",
    ]);
    assert.equal(seen?.headers["cf-cert-subject-dn"], subject.stdout.replace(/^subject=/, "").trim());
    const der = await openssl(["x509", "-in", pki.client.cert, "-outform", "DER"]);
    assert.equal(seen?.headers["client-cert"], `:${der.raw.toString("base64")}:`);
    assert.equal(seen?.headers["x-forwarded-proto"], "https");
    assert.equal(seen?.headers["x-forwarded-for"], "127.0.0.1");
  });

  test("enforce: no certificate → 403 with a reason, JSON or HTML by Accept", async () => {
    const json = await curlEdge(pki, edge.port, "https://api.example.test/", [
      "-H",
      "Accept: application/json",
    ]);
    assert.equal(json.status, 403);
    assert.equal(JSON.parse(json.body).error.reason, "no_client_certificate");
    const html = await curlEdge(pki, edge.port, "https://api.example.test/", ["-H", "Accept: text/html"]);
    assert.equal(html.status, 403);
    assert.match(html.headers["content-type"] ?? "", /text\/html/);
    assert.match(html.body, /no_client_certificate/);
  });

  test("enforce: a certificate from another host's CA → 403 certificate_untrusted; that host takes it", async () => {
    const res = await curlEdge(pki, edge.port, "https://api.example.test/", clientCertArgs(pki.otherClient));
    assert.equal(res.status, 403);
    assert.equal(res.headers["x-portcullis-reason"], "certificate_untrusted");
    const partner = await curlEdge(
      pki,
      edge.port,
      "https://partner.example.test/",
      clientCertArgs(pki.otherClient),
    );
    assert.equal(partner.status, 200);
    const wrong = await curlEdge(pki, edge.port, "https://partner.example.test/", clientCertArgs(pki.client));
    assert.equal(wrong.status, 403);
  });

  test("enforce: a server certificate (no clientAuth EKU) from the trusted CA → 403 certificate_wrong_purpose", async () => {
    const wrong = await makeServerCert(dir, "wrong-purpose", { issuer: "client-ca" });
    const res = await curlEdge(pki, edge.port, "https://api.example.test/", [
      ...clientCertArgs({ cert: wrong.certPath, key: wrong.keyPath }),
      "-H",
      "Accept: application/json",
    ]);
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).error.reason, "certificate_wrong_purpose");
  });

  test("enforce: a revoked certificate → 403 certificate_revoked, and a log event names it", async () => {
    const res = await curlEdge(pki, edge.port, "https://api.example.test/", clientCertArgs(revoked));
    assert.equal(res.status, 403);
    assert.equal(res.headers["x-portcullis-reason"], "certificate_revoked");
    const serial = (await openssl(["x509", "-in", revoked.cert, "-noout", "-serial"])).stdout
      .trim()
      .split("=")[1];
    const event = await edge.waitForLog(
      (l) => l.event === "mtls_decision" && l.reason === "certificate_revoked",
    );
    assert.equal(event.serial, serial);
    assert.equal(event.action, "deny");
    assert.equal(event.host, "api.example.test");
  });

  test("off: the public host never asks for a certificate; the mTLS host names its CA", async () => {
    const ask = (name: string) =>
      run("sh", [
        "-c",
        `echo Q | openssl s_client -connect 127.0.0.1:${edge.port} -servername ${name} 2>&1 | grep -A3 -i "client certificate CA names"`,
      ]);
    const publicHost = await ask("public.example.test");
    assert.match(publicHost.stdout, /No client certificate CA names sent/);
    const mtlsHost = await ask("api.example.test");
    assert.match(mtlsHost.stdout, /Acceptable client certificate CA names\n.*CN\s?=\s?Client CA/);
    assert.doesNotMatch(mtlsHost.stdout, /Other CA/, "only this host's CAs are named");
    const res = await curlEdge(pki, edge.port, "https://public.example.test/");
    assert.equal(res.status, 200);
    assert.equal(origin.last()?.headers["cf-cert-presented"], "false");
  });

  test("permissive: requests pass with or without a certificate; the origin gets the status", async () => {
    const none = await curlEdge(pki, edge.port, "https://open.example.test/");
    assert.equal(none.status, 200);
    assert.equal(origin.last()?.headers["cf-cert-presented"], "false");
    const bad = await curlEdge(pki, edge.port, "https://open.example.test/", clientCertArgs(pki.otherClient));
    assert.equal(bad.status, 200);
    assert.equal(origin.last()?.headers["cf-cert-presented"], "true");
    assert.equal(origin.last()?.headers["cf-cert-verified"], "false");
    const good = await curlEdge(pki, edge.port, "https://open.example.test/", clientCertArgs(pki.client));
    assert.equal(good.status, 200);
    assert.equal(origin.last()?.headers["cf-cert-verified"], "true");
  });

  test("per-path: /admin is enforced on a host that is otherwise public, however the path is spelled", async () => {
    assert.equal((await curlEdge(pki, edge.port, "https://mixed.example.test/docs")).status, 200);
    for (const path of ["/admin", "/admin/users", "/%61dmin", "/docs/../admin", "//admin"]) {
      const res = await curlEdge(pki, edge.port, `https://mixed.example.test${path}`, ["--path-as-is"]);
      assert.equal(res.status, 403, `${path} must be enforced`);
    }
    assert.equal((await curlEdge(pki, edge.port, "https://mixed.example.test/administrator")).status, 200);
    const ok = await curlEdge(pki, edge.port, "https://mixed.example.test/admin", clientCertArgs(pki.client));
    assert.equal(ok.status, 200);
  });

  test("no SNI, or an unknown one, gets the default host", async () => {
    const noSni = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--cacert",
      pki.serverCa,
      `https://127.0.0.1:${edge.port}/`,
    ]);
    assert.equal(noSni.stdout, "200", noSni.stderr);
    assert.equal(origin.last()?.headers.host, `127.0.0.1:${edge.port}`);
    const unknown = await curlEdge(pki, edge.port, "https://unknown.example.test/", ["-k"]);
    assert.equal(unknown.status, 200);
  });

  test("plain HTTP redirects to HTTPS", async () => {
    const res = await fetch(`http://127.0.0.1:${edge.httpPort}/login?next=%2F`, { redirect: "manual" });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), `https://127.0.0.1:${edge.port}/login?next=%2F`);
    const post = await fetch(`http://127.0.0.1:${edge.httpPort}/form`, {
      method: "POST",
      redirect: "manual",
    });
    assert.equal(post.status, 308, "a redirect that keeps the method and body");
  });

  test("a host with RSA and ECDSA certificates serves each client the one it can use", async () => {
    const offered = async (cipher: string) => {
      const out = await run("sh", [
        "-c",
        `echo Q | openssl s_client -connect 127.0.0.1:${edge.port} -servername dual.example.test -tls1_2 -cipher ${cipher} 2>&1`,
      ]);
      return /Server public key is (\d+) bit/.exec(out.stdout)?.[1];
    };
    assert.equal(await offered("ECDHE-RSA-AES128-GCM-SHA256"), "2048");
    assert.equal(await offered("ECDHE-ECDSA-AES128-GCM-SHA256"), "256");
  });

  test("HTTP/2 and HTTP/1.1 are both served (ALPN)", async () => {
    const h2 = await curlEdge(pki, edge.port, "https://api.example.test/", [
      "--http2",
      "-w",
      "%{http_version}",
      ...clientCertArgs(pki.client),
    ]);
    assert.equal(h2.status, 200);
    assert.match(h2.body, /2$/);
    const h1 = await curlEdge(pki, edge.port, "https://api.example.test/", [
      "--http1.1",
      "-w",
      "%{http_version}",
      ...clientCertArgs(pki.client),
    ]);
    assert.match(h1.body, /1\.1$/);
  });

  test("metrics count handshakes, requests and failures by reason", async () => {
    const res = await fetch(`http://127.0.0.1:${edge.adminPort}/metrics`);
    const text = await res.text();
    assert.match(text, /portcullis_requests_total\{host="api.example.test",result="denied"\} \d+/);
    assert.match(
      text,
      /portcullis_client_cert_failures_total\{host="api.example.test",reason="certificate_revoked"\}/,
    );
    assert.match(text, /portcullis_crl_entries\{source="[^"]*client-ca.crl"\} 1/);
    assert.equal((await fetch(`http://127.0.0.1:${edge.adminPort}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${edge.adminPort}/healthz`)).status, 200);
  });
});
