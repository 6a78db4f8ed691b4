/**
 * The decision logic without sockets: path modes, Host/SNI, and the per-request certificate verdict
 * (trust, expiry, revocation, CRL freshness), on a Snapshot compiled from a real config and real
 * certificates. The same behaviour is tested end to end with curl and openssl in test/e2e/edge-*.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadEdgeConfig } from "../../src/config/load.ts";
import type { PathRule } from "../../src/config/types.ts";
import type { ConnectionAuth } from "../../src/edge/client-auth.ts";
import { type ConnectionInfo, decide, hostOf } from "../../src/edge/decide.ts";
import { certificateFields } from "../../src/edge/identity.ts";
import { compilePathModes, normalizePath } from "../../src/edge/paths.ts";
import type { CrlStatus } from "../../src/revocation/index.ts";
import { compileSnapshot, fingerprintOfPem, type Snapshot } from "../../src/snapshot/snapshot.ts";
import { makeCa, makeClientCert, makeServerCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

describe("path modes", () => {
  const rules: PathRule[] = [
    { prefix: "/admin", mode: "enforce" },
    { prefix: "/admin/public", mode: "off" },
    { prefix: "/api/", mode: "permissive" },
  ];
  const modeFor = compilePathModes("off", rules);

  test("the longest matching prefix wins, on whole segments", () => {
    assert.equal(modeFor("/admin"), "enforce");
    assert.equal(modeFor("/admin/users?x=1"), "enforce");
    assert.equal(modeFor("/admin/public/logo.png"), "off");
    assert.equal(modeFor("/administrator"), "off");
    assert.equal(modeFor("/api/v1"), "permissive");
    assert.equal(modeFor("/"), "off");
  });

  test("spellings of the same path get the same mode", () => {
    for (const target of [
      "/%61dmin",
      "/ADMIN/../admin",
      "//admin",
      "/./admin",
      "/x/../admin/",
      "/admin%2F..%2F",
    ]) {
      assert.equal(modeFor(target), "enforce", target);
    }
  });

  test("an encoded slash or a backslash gets the strictest mode in play", () => {
    assert.equal(normalizePath("/public%2F..%2Fadmin"), null);
    assert.equal(modeFor("/public%2F..%2Fadmin"), "enforce");
    assert.equal(modeFor("/public\\..\\admin"), "enforce");
    assert.equal(modeFor("/bad%zz"), "enforce");
  });

  test("no rules: the host mode", () => {
    assert.equal(compilePathModes("permissive", [])("/anything"), "permissive");
  });

  test("hostOf strips the port, brackets and a trailing dot", () => {
    assert.equal(hostOf("API.Example.test:8443"), "api.example.test");
    assert.equal(hostOf("api.example.test."), "api.example.test");
    assert.equal(hostOf("[::1]:8443"), "::1");
    assert.equal(hostOf(""), null);
    assert.equal(hostOf(undefined), null);
  });
});

describe("decide", { skip: missingPeer("openssl") }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let snapshot: Snapshot;
  let caFingerprint: string;
  let client: { der: Buffer; serial: string };
  let crls: Map<string, CrlStatus>;
  let config: Awaited<ReturnType<typeof loadEdgeConfig>>;

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    await makeCa(dir, "server-ca");
    await makeServerCert(dir, "server", {
      issuer: "server-ca",
      san: "DNS:api.example.test,DNS:www.example.test",
    });
    await makeCa(dir, "client-ca");
    const cert = await makeClientCert(dir, "client", { issuer: "client-ca", serial: 0xabcdefn });
    await writeFile(join(dir, "ca.crl"), "");
    const der = (await openssl(["x509", "-in", cert.certPath, "-outform", "DER"])).raw;
    client = { der, serial: "ABCDEF" };
    caFingerprint = fingerprintOfPem(await readFile(join(dir, "client-ca.pem"), "utf8"));
    await writeFile(
      join(dir, "portcullis.yaml"),
      `listen: { https: "127.0.0.1:8443" }
hostnames:
  - hostname: api.example.test
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], crls: [ca.crl], paths: [{ prefix: /health, mode: off }] }
    origin: { url: "http://127.0.0.1:9000" }
  - hostname: "*.example.test"
    tls: { cert: server.pem, key: server-key.pem }
    origin: { url: "http://127.0.0.1:9000" }
`,
    );
    config = await loadEdgeConfig(join(dir, "portcullis.yaml"));
    crls = new Map();
    snapshot = build([]);
  });

  after(async () => {
    // Hosts with the same origin share one pool.
    for (const pool of new Set(snapshot.hosts.map((host) => host.origin.dispatcher))) await pool.close();
    await cleanup?.();
  });

  function build(revoked: string[], nextUpdateMs: number | null = Date.now() + 3_600_000): Snapshot {
    const source = config.hosts[0]?.mtls.crls[0];
    assert.ok(source);
    crls.set(`file:${(source as { path: string }).path}`, {
      ok: true,
      crl: {
        source,
        issuerFingerprint256: caFingerprint,
        serials: new Set(revoked),
        thisUpdateMs: Date.now(),
        nextUpdateMs,
        crlNumber: "1",
        fetchedAtMs: Date.now(),
        fromCache: false,
      },
    });
    return compileSnapshot(config, crls).snapshot;
  }

  function verifiedConnection(): ConnectionInfo {
    const auth: ConnectionAuth = {
      presented: true,
      failure: null,
      cert: certificateFields(client.der, []),
      links: [{ serial: client.serial, issuer: caFingerprint }],
      chainFingerprints: ["leaf", caFingerprint],
    };
    return { serverName: "api.example.test", auth };
  }

  const none: ConnectionAuth = {
    presented: false,
    failure: null,
    cert: null,
    links: [],
    chainFingerprints: [],
  };
  const request = (target: string, authority = "api.example.test:8443") => ({ authority, target });

  test("a verified certificate is forwarded, with the identity for the origin", () => {
    const decision = decide(snapshot, verifiedConnection(), request("/"), Date.now());
    assert.equal(decision.kind, "forward");
    assert.equal(decision.kind === "forward" && decision.auth.verify, "SUCCESS");
  });

  test("no certificate on enforce → deny; on an off path → forward", () => {
    const conn = { serverName: "api.example.test", auth: none };
    const denied = decide(snapshot, conn, request("/"), Date.now());
    assert.deepEqual(denied.kind === "deny" && [denied.status, denied.reason], [
      403,
      "no_client_certificate",
    ]);
    assert.equal(decide(snapshot, conn, request("/health"), Date.now()).kind, "forward");
  });

  test("revoked in the current Snapshot → deny, while still `verified` as Cloudflare reports it", () => {
    const revokedSnapshot = build([client.serial]);
    const decision = decide(revokedSnapshot, verifiedConnection(), request("/"), Date.now());
    assert.equal(decision.kind, "deny");
    assert.equal(decision.kind === "deny" && decision.reason, "certificate_revoked");
    assert.equal(decision.kind === "deny" && decision.auth.verified, true);
    assert.equal(decision.kind === "deny" && decision.auth.verify, "FAILED:certificate revoked");
    snapshot = build([]);
  });

  test("a CRL past its nextUpdate fails closed", () => {
    const stale = build([], Date.now() - 1000);
    const decision = decide(stale, verifiedConnection(), request("/"), Date.now());
    assert.equal(decision.kind === "deny" && decision.reason, "crl_expired");
    snapshot = build([]);
  });

  test("a CRL source with no good copy fails closed", () => {
    const source = config.hosts[0]?.mtls.crls[0];
    assert.ok(source);
    const missing = new Map<string, CrlStatus>([
      [`file:${(source as { path: string }).path}`, { ok: false, source, error: "down" }],
    ]);
    const decision = decide(
      compileSnapshot(config, missing).snapshot,
      verifiedConnection(),
      request("/"),
      Date.now(),
    );
    assert.equal(decision.kind === "deny" && decision.reason, "crl_unavailable");
  });

  test("expired since the handshake → deny", () => {
    const conn = verifiedConnection();
    const later = (conn.auth.cert?.notAfterMs ?? 0) + 1000;
    const decision = decide(snapshot, conn, request("/"), later);
    assert.equal(decision.kind === "deny" && decision.reason, "certificate_expired");
  });

  test("a chain that no longer ends at one of the host's CAs → deny", () => {
    const conn = verifiedConnection();
    const moved = { ...conn, auth: { ...conn.auth, chainFingerprints: ["leaf", "another-ca"] } };
    assert.equal(decide(snapshot, moved, request("/"), Date.now()).kind, "deny");
  });

  test("Host must name the connection's host: 421 otherwise, in either direction", () => {
    const toPublic = decide(snapshot, verifiedConnection(), request("/", "www.example.test"), Date.now());
    assert.deepEqual(toPublic.kind === "reject" && [toPublic.status, toPublic.reason], [
      421,
      "host_mismatch",
    ]);
    const fromPublic = { serverName: "www.example.test", auth: none };
    assert.equal(decide(snapshot, fromPublic, request("/", "api.example.test"), Date.now()).kind, "reject");
    assert.equal(
      decide(snapshot, fromPublic, request("/", "WWW.example.test:8443"), Date.now()).kind,
      "forward",
    );
    const noHost = decide(snapshot, verifiedConnection(), request("/", ""), Date.now());
    assert.equal(noHost.kind === "reject" && noHost.status, 400);
  });

  test("a wildcard covers one label; no default host means unknown names are refused", () => {
    assert.equal(snapshot.lookup("a.example.test")?.name, "*.example.test");
    assert.equal(snapshot.lookup("a.b.example.test"), undefined);
    assert.equal(snapshot.lookup(null), undefined);
    const conn = { serverName: "nobody.test", auth: none };
    assert.equal(decide(snapshot, conn, request("/", "nobody.test"), Date.now()).kind, "reject");
  });
});
