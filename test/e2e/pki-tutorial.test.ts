// The Access tutorial (seed 002), word for word with `cfssl` → `portcullis pki` and `cfssljson` →
// `portcullis pki json`, then its client certificate presented by curl to a real TLS server.
import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startSServer } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { REPO_ROOT, run, shell, tempDir } from "../helpers/run.ts";

const FIXTURES = join(REPO_ROOT, "test/fixtures/tutorial");
let work: { path: string; cleanup: () => Promise<void> };
let caDir: string;
let clientDir: string;

before(async () => {
  work = await tempDir();
  caDir = join(work.path, "mtls-test");
  clientDir = join(work.path, "client");
  await mkdir(caDir);
  await mkdir(clientDir);
  await copyFile(join(FIXTURES, "ca-csr.json"), join(caDir, "ca-csr.json"));
  await copyFile(join(FIXTURES, "ca-config.json"), join(caDir, "ca-config.json"));
  await copyFile(join(FIXTURES, "client-csr.json"), join(clientDir, "client-csr.json"));
});
after(() => work.cleanup());

test("generating the root CA gives the tutorial's listing", async () => {
  const result = await shell("portcullis pki gencert -initca ca-csr.json | portcullis pki json -bare ca", {
    cwd: caDir,
  });
  assert.equal(result.code, 0, result.stderr);
  const ls = await shell("ls", { cwd: caDir });
  assert.equal(
    ls.stdout.split(/\s+/).filter(Boolean).join(" "),
    "ca-config.json ca-csr.json ca-key.pem ca.csr ca.pem",
  );
  assert.equal((await stat(join(caDir, "ca-key.pem"))).mode & 0o777, 0o600, "the CA key is private");
});

test("the client certificate command works word for word and yields a client certificate", async () => {
  const result = await shell(
    "portcullis pki gencert -ca=../mtls-test/ca.pem -ca-key=../mtls-test/ca-key.pem -config=../mtls-test/ca-config.json -profile=client client-csr.json | portcullis pki json -bare client",
    { cwd: clientDir },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readdir(clientDir)).sort(), [
    "client-csr.json",
    "client-key.pem",
    "client.csr",
    "client.pem",
  ]);
  const verify = await run(
    "openssl",
    ["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", "../mtls-test/ca.pem", "client.pem"],
    { cwd: clientDir },
  );
  assert.equal(verify.stdout.trim(), "client.pem: OK", verify.stderr);
  const text = await run(
    "openssl",
    ["x509", "-in", "client.pem", "-noout", "-subject", "-ext", "subjectAltName"],
    {
      cwd: clientDir,
    },
  );
  assert.match(
    text.stdout,
    /subject=C = US, ST = Texas, L = Austin, O = Access, OU = Access Admins, CN = James Royal/,
  );
  assert.doesNotMatch(text.stdout, /DNS:/, '"hosts": [""] adds no empty DNS name');
});

test("curl presents the tutorial's client certificate to a server that trusts the CA", {
  skip: missingPeer("curl", "openssl"),
}, async () => {
  // The protected host's certificate, from the same CA with the tutorial config's server profile.
  const server = await shell(
    "portcullis pki gencert -ca ca.pem -ca-key ca-key.pem -config ca-config.json -profile server -hostname iot.widgetcorp.tech ca-csr.json | portcullis pki json -bare server",
    { cwd: caDir },
  );
  assert.equal(server.code, 0, server.stderr);
  const sServer = await startSServer({
    cert: "server.pem",
    key: "server-key.pem",
    caFile: "ca.pem",
    cwd: caDir,
  });
  try {
    const url = `https://iot.widgetcorp.tech:${sServer.port}`;
    const resolve = `iot.widgetcorp.tech:${sServer.port}:127.0.0.1`;
    const withCert = await run(
      "curl",
      [
        "-sS",
        "-v",
        "--cert",
        "client.pem",
        "--key",
        "client-key.pem",
        "--cacert",
        "../mtls-test/ca.pem",
        "--resolve",
        resolve,
        url,
      ],
      { cwd: clientDir },
    );
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.match(withCert.stdout, /CN\s*=\s*James Royal/, "the server saw the tutorial's client certificate");
    const withoutCert = await run(
      "curl",
      ["-sS", "--cacert", "../mtls-test/ca.pem", "--resolve", resolve, url],
      {
        cwd: clientDir,
      },
    );
    assert.notEqual(withoutCert.code, 0, "without a client certificate the server refuses the handshake");
  } finally {
    await sServer.stop();
  }
});
