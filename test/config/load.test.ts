import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { type Fixture, load, makeFixture, minimalHost } from "./fixture.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

let fx: Fixture;
before(async () => {
  if (!needsOpenssl.skip) fx = await makeFixture();
});
after(() => fx?.cleanup());

const pem = (name: string) => readFile(join(fx.etc, "pki", name), "utf8");
const pkcs8Der = (pemText: string) =>
  createPrivateKey(pemText).export({ type: "pkcs8", format: "der" }).toString("hex");

test(
  "a full config: every key read, every file read and resolved against the config's directory",
  needsOpenssl,
  async () => {
    const config = await load([
      'listen: { https: "127.0.0.1:8443", http: "[::1]:8080" }',
      'admin: "localhost:9901"',
      "data_dir: ../state",
      "log: { level: debug }",
      "crl_refresh_interval: 90s",
      "limits:",
      "  client_hello_max_bytes: 4096",
      "  client_hello_timeout: 1.5",
      "  handshake_timeout: 500ms",
      "  headers_timeout: 1m30s",
      "  request_timeout: 0",
      "  keep_alive_timeout: 2",
      "hostnames:",
      "  - hostname: API.Example.Test",
      "    default: true",
      "    tls:",
      "      - { cert: pki/api-chain.pem, key: pki/api-key.pem }",
      "      - { cert: pki/api-rsa.pem, key: pki/api-rsa-key.pem }",
      "    mtls:",
      "      mode: permissive",
      "      trusted_cas: [pki/cas.pem, pki/ca.pem]",
      '      crls: [pki/ca.crl, "http://127.0.0.1:8000/ca.crl"]',
      "      stale_crl: allow",
      "      max_chain_depth: 2",
      "      paths: [{ prefix: /admin, mode: enforce }, { prefix: /public, mode: off }]",
      "      ocsp: { enabled: true, timeout: 3s }",
      "    origin:",
      '      url: "https://Origin.Internal:443/app/"',
      "      ca: pki/origin-ca.pem",
      "      client_cert: { cert: pki/aop.pem, key: pki/aop-key.pem }",
      "      servername: Origin.Internal",
      "      connect_timeout: 1s",
      "      response_timeout: 2m",
      "      body_timeout: 45s",
      "    forward: [cloudflare, rfc9440, { header: X-Client-DN, variable: ssl_client_s_dn }]",
      "  - hostname: '*.Example.Test'",
      "    tls: { cert: pki/api.pem, key: pki/api-key.pem }",
      '    origin: { url: "http://127.0.0.1:9000" }',
    ]);

    assert.equal(config.file, join(fx.etc, "portcullis.yaml"));
    assert.deepEqual(config.listen, {
      https: { host: "127.0.0.1", port: 8443 },
      http: { host: "::1", port: 8080 },
    });
    assert.deepEqual(config.admin, { host: "localhost", port: 9901 });
    assert.equal(config.dataDir, join(fx.root, "state"));
    assert.deepEqual(config.log, { level: "debug" });
    assert.equal(config.crlRefreshIntervalMs, 90_000);
    assert.deepEqual(config.limits, {
      clientHelloMaxBytes: 4096,
      clientHelloTimeoutMs: 1500,
      handshakeTimeoutMs: 500,
      headersTimeoutMs: 90_000,
      requestTimeoutMs: 0,
      keepAliveTimeoutMs: 2000,
    });
    assert.equal(config.hosts.length, 2);

    const [api, wildcard] = config.hosts;
    assert.ok(api && wildcard);
    assert.equal(api.hostname, "api.example.test");
    assert.equal(api.isDefault, true);
    assert.equal(api.tls.length, 2);
    const [ecdsa, rsa] = api.tls;
    assert.ok(ecdsa && rsa);
    assert.equal(ecdsa.certPem, await pem("api-chain.pem"), "leaf then its chain, as in the file");
    assert.equal(ecdsa.certFile, join(fx.etc, "pki", "api-chain.pem"));
    assert.equal(ecdsa.keyFile, join(fx.etc, "pki", "api-key.pem"));
    assert.equal(pkcs8Der(ecdsa.keyPem), pkcs8Der(await pem("api-key.pem")));
    assert.equal(rsa.certPem, await pem("api-rsa.pem"));
    assert.equal(pkcs8Der(rsa.keyPem), pkcs8Der(await pem("api-rsa-key.pem")));
    assert.equal(createPrivateKey(rsa.keyPem).asymmetricKeyType, "rsa");

    assert.deepEqual(api.mtls, {
      mode: "permissive",
      // The bundle split into one entry per certificate, in file order, then the next file.
      trustedCasPem: [await pem("ca.pem"), await pem("inter.pem"), await pem("ca.pem")],
      crls: [
        { kind: "file", path: join(fx.etc, "pki", "ca.crl"), field: "hostnames[0].mtls.crls[0]" },
        { kind: "url", url: "http://127.0.0.1:8000/ca.crl", field: "hostnames[0].mtls.crls[1]" },
      ],
      staleCrl: "allow",
      maxChainDepth: 2,
      paths: [
        { prefix: "/admin", mode: "enforce" },
        { prefix: "/public", mode: "off" },
      ],
      ocsp: { enabled: true, timeoutMs: 3000 },
    });

    const { clientCert, ...origin } = api.origin;
    assert.deepEqual(origin, {
      url: "https://origin.internal/app/",
      caPem: await pem("origin-ca.pem"),
      servername: "origin.internal",
      connectTimeoutMs: 1000,
      responseTimeoutMs: 120_000,
      bodyTimeoutMs: 45_000,
    });
    assert.ok(clientCert);
    assert.equal(clientCert.certPem, await pem("aop.pem"));
    assert.equal(pkcs8Der(clientCert.keyPem), pkcs8Der(await pem("aop-key.pem")));
    assert.equal(clientCert.certFile, join(fx.etc, "pki", "aop.pem"));
    assert.deepEqual(api.forward, [
      { format: "cloudflare" },
      { format: "rfc9440" },
      { header: "X-Client-DN", variable: "ssl_client_s_dn" },
    ]);

    assert.equal(wildcard.hostname, "*.example.test");
    assert.equal(wildcard.isDefault, false);
    assert.equal(wildcard.tls.length, 1);
    assert.equal(wildcard.tls[0]?.certPem, await pem("api.pem"));
  },
);

test("a minimal config: every default, and no optional listener", needsOpenssl, async () => {
  const config = await load(['listen: { https: ":8443" }', "hostnames:", ...minimalHost()]);
  assert.deepEqual(config.listen, { https: { host: "0.0.0.0", port: 8443 } });
  assert.equal("admin" in config, false);
  assert.equal(
    config.dataDir,
    join(fx.etc, ".portcullis"),
    "next to the config file, not the working directory",
  );
  assert.deepEqual(config.log, { level: "info" });
  assert.equal(config.crlRefreshIntervalMs, 300_000);
  assert.deepEqual(config.limits, {
    clientHelloMaxBytes: 16_384,
    clientHelloTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 60_000,
  });
  const [host] = config.hosts;
  assert.ok(host);
  assert.equal(host.isDefault, false);
  assert.deepEqual(host.mtls, {
    mode: "off",
    trustedCasPem: [],
    crls: [],
    staleCrl: "deny",
    maxChainDepth: 4,
    paths: [],
    ocsp: { enabled: false, timeoutMs: 2000 },
  });
  assert.deepEqual(host.origin, {
    url: "http://127.0.0.1:9000",
    connectTimeoutMs: 5000,
    responseTimeoutMs: 60_000,
    bodyTimeoutMs: 60_000,
  });
  assert.deepEqual(host.forward, []);
});

test("absolute paths are kept; an mtls block without a mode is off", needsOpenssl, async () => {
  const ca = join(fx.etc, "pki", "ca.pem");
  const config = await load([
    'listen: { https: ":8443" }',
    `data_dir: ${fx.root}/data`,
    "hostnames:",
    ...minimalHost(),
    `    mtls: { trusted_cas: [${ca}], crls: [${join(fx.etc, "pki", "ca.crl")}] }`,
  ]);
  assert.equal(config.dataDir, join(fx.root, "data"));
  assert.equal(config.hosts[0]?.mtls.mode, "off");
  assert.deepEqual(config.hosts[0]?.mtls.trustedCasPem, [await pem("ca.pem")]);
  assert.equal(config.hosts[0]?.mtls.crls[0]?.kind, "file");
});

test(
  "a config reached through YAML anchors and aliases loads like one written out",
  needsOpenssl,
  async () => {
    const config = await load([
      'listen: { https: ":8443" }',
      "hostnames:",
      "  - hostname: a.example.test",
      "    tls: &tls { cert: pki/api.pem, key: pki/api-key.pem }",
      '    origin: &origin { url: "http://127.0.0.1:9000", connect_timeout: 3s }',
      "  - hostname: b.example.test",
      "    tls: *tls",
      "    origin: *origin",
    ]);
    assert.equal(config.hosts[1]?.origin.connectTimeoutMs, 3000);
    assert.equal(config.hosts[1]?.tls[0]?.certPem, await pem("api.pem"));
  },
);
