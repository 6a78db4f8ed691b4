/**
 * `portcullis up --demo`, as a new user runs it: the printed curl commands give 403 without the demo
 * certificate and 200 with it (the body shows the identity the origin received); a second start reuses
 * the data; Ctrl-C stops cleanly.
 */
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";
import { apiClient, printedCommands, type Started, upDemo as up, waitFor } from "../helpers/up.ts";

test("portcullis up --demo: 403 without the certificate, 200 with it; revoked by the API within 1 s", {
  skip: missingPeer("curl", "openssl"),
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  let running: Started | undefined;
  try {
    const edgePort = await freePort();
    const apiPort = await freePort();
    let started = await up(dir, edgePort, apiPort);
    running = started;
    const [without, withCert] = printedCommands(started.output);
    assert.ok(without && withCert, started.output);
    const denied = await run("sh", ["-c", `${without} -s -o /dev/null -w '%{http_code}'`]);
    assert.equal(denied.stdout, "403", denied.stderr);
    const allowed = await run("sh", ["-c", `${withCert} -s`]);
    const body = JSON.parse(allowed.stdout);
    assert.equal(body.identity["cf-cert-verified"], "true");
    assert.match(body.identity["cf-cert-subject-dn"], /CN=demo-client/);
    // What the edge serves is kept on disk, sealed: no private key in the clear.
    const lastGood = join(dir, "last-good-edge.json.enc");
    await waitFor(async () => (await stat(lastGood).catch(() => undefined)) !== undefined);
    assert.equal((await stat(lastGood)).mode & 0o777, 0o600);
    assert.doesNotMatch(await readFile(lastGood, "utf8"), /PRIVATE KEY/);

    // Revoke it through the API: the edge refuses it within a second, and the CRL lists it.
    const api = apiClient(apiPort);
    const zone = (await api("GET", "/zones?name=localhost")).result[0];
    const certs = (await api("GET", `/zones/${zone?.id}/client_certificates?status=active`)).result;
    const demoCert = certs.find((c) => c.common_name === "demo-client");
    assert.ok(demoCert, JSON.stringify(certs));
    const revoked = await api("DELETE", `/zones/${zone?.id}/client_certificates/${demoCert.id}`);
    assert.equal(revoked.result.status, "pending_revocation");
    const status = async () =>
      (await run("sh", ["-c", `${withCert} -s -o /dev/null -w '%{http_code}'`])).stdout;
    const since = Date.now();
    while ((await status()) !== "403") {
      assert.ok(Date.now() - since < 1000, "revocation enforced within 1 s");
    }
    await waitFor(
      async () =>
        (await api("GET", `/zones/${zone?.id}/client_certificates/${demoCert.id}`)).result.status ===
        "revoked",
    );
    const crl = await fetch(`http://127.0.0.1:${apiPort}/crl/${zone?.id}`);
    const crlText = await run("openssl", ["crl", "-inform", "DER", "-noout", "-text"], {
      input: Buffer.from(await crl.arrayBuffer()),
    });
    assert.match(crlText.stdout, new RegExp(`Serial Number: 0*${demoCert.serial_number}`));

    const reactivated = await api("PATCH", `/zones/${zone?.id}/client_certificates/${demoCert.id}`, {
      reactivate: true,
    });
    assert.equal(reactivated.result.status, "pending_reactivation");
    await waitFor(async () => (await status()) === "200");
    assert.equal(await started.stop(), 0);

    // A second start reuses the data: the same certificate still works.
    started = await up(dir, edgePort, apiPort);
    running = started;
    const again = await run("sh", ["-c", `${withCert} -s -o /dev/null -w '%{http_code}'`]);
    assert.equal(again.stdout, "200");
    assert.doesNotMatch(started.output, /Admin API token/, "the bootstrap token is printed only once");
    assert.equal(await started.stop(), 0);
  } finally {
    await running?.stop();
    await cleanup();
  }
});
