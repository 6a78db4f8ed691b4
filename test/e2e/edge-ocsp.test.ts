/**
 * OCSP for client certificates (off by default): a real `openssl ocsp` responder named in the
 * certificates' AIA; a revoked certificate is refused, a good one passes, a dead responder fails closed.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import {
  clientCertArgs,
  curlEdge,
  type EchoOrigin,
  type EdgePki,
  type EdgeProcess,
  makeEdgePki,
  opensslCaDatabase,
  startEchoOrigin,
  startEdgeProcess,
  startOcspResponder,
} from "../helpers/edge.ts";
import { makeClientCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

describe("edge: OCSP", { skip: missingPeer("openssl", "curl") }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let origin: EchoOrigin;
  let edge: EdgeProcess;
  let responder: ChildProcess | undefined;
  const certs: Record<string, { cert: string; key: string }> = {};

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, ["ocsp.example.test", "soft.example.test"]);
    const port = await freePort();
    const deadPort = await freePort();
    const aia = (p: number) => `authorityInfoAccess=OCSP;URI:http://127.0.0.1:${p}`;
    for (const [name, p] of [
      ["good", port],
      ["revoked", port],
      ["orphan", deadPort],
    ] as const) {
      const made = await makeClientCert(dir, `ocsp-${name}`, { issuer: "client-ca", extensions: aia(p) });
      certs[name] = { cert: made.certPath, key: made.keyPath };
    }
    const { index } = await opensslCaDatabase(dir, "client-ca", {
      valid: [certs.good?.cert ?? ""],
      revoked: [certs.revoked?.cert ?? ""],
    });
    responder = await startOcspResponder(dir, "client-ca", index, port);
    origin = await startEchoOrigin();
    const host = (name: string, extra: string) => `
  - hostname: ${name}
    tls: { cert: server.pem, key: server-key.pem }
    mtls: { mode: enforce, trusted_cas: [client-ca.pem], ocsp: { enabled: true, timeout: 1s }${extra} }
    origin: { url: "${origin.url}" }`;
    edge = await startEdgeProcess(
      dir,
      `listen: { https: "127.0.0.1:{{HTTPS}}" }
hostnames:${host("ocsp.example.test", "")}${host("soft.example.test", ", stale_crl: allow")}
`,
    );
  });

  after(async () => {
    await edge?.stop();
    responder?.kill();
    await origin?.stop();
    await cleanup?.();
  });

  test("good → forwarded; revoked → 403 certificate_revoked", async () => {
    const good = await curlEdge(
      pki,
      edge.port,
      "https://ocsp.example.test/",
      clientCertArgs(certs.good ?? pki.client),
    );
    assert.equal(good.status, 200);
    const revoked = await curlEdge(
      pki,
      edge.port,
      "https://ocsp.example.test/",
      clientCertArgs(certs.revoked ?? pki.client),
    );
    assert.equal(revoked.status, 403);
    assert.equal(revoked.headers["x-portcullis-reason"], "certificate_revoked");
  });

  test("a certificate whose responder is down: fail closed, or pass with stale_crl: allow", async () => {
    const closed = await curlEdge(
      pki,
      edge.port,
      "https://ocsp.example.test/",
      clientCertArgs(certs.orphan ?? pki.client),
    );
    assert.equal(closed.status, 403);
    assert.equal(closed.headers["x-portcullis-reason"], "ocsp_unavailable");
    const soft = await curlEdge(
      pki,
      edge.port,
      "https://soft.example.test/",
      clientCertArgs(certs.orphan ?? pki.client),
    );
    assert.equal(soft.status, 200);
  });

  test("a certificate that names no responder is judged on the rest", async () => {
    const res = await curlEdge(pki, edge.port, "https://ocsp.example.test/", clientCertArgs(pki.client));
    assert.equal(res.status, 200);
  });
});
