/**
 * Cloudflare's own CLI against Portcullis: wrangler's `mtls-certificate upload | list | delete`, pointed at
 * `portcullis up` with CLOUDFLARE_API_BASE_URL, works unchanged (seed 000's workflow).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { makeCa, makeClientCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";
import { ADMIN_TOKEN, apiClient, listen, type Started, startUp } from "../helpers/up.ts";

// The package exports no bin path; find it beside its package.json.
const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);

test("wrangler mtls-certificate upload, list and delete work against portcullis up", {
  skip: missingPeer("openssl"),
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  const apiPort = await freePort();
  let up: Started | undefined;
  try {
    up = await startUp(["--data", dir, ...listen(await freePort(), apiPort)]);
    const api = apiClient(apiPort);
    const account = (await api("POST", "/accounts", { name: "workers" })).result as unknown as { id: string };
    await makeCa(dir, "ca", { subject: "/CN=Workers Test CA" });
    const leaf = await makeClientCert(dir, "worker", { issuer: "ca" });
    const wrangler = (...args: string[]) =>
      run(process.execPath, [WRANGLER, "mtls-certificate", ...args], {
        cwd: dir,
        env: {
          CLOUDFLARE_API_BASE_URL: `http://127.0.0.1:${apiPort}/client/v4`,
          CLOUDFLARE_API_TOKEN: ADMIN_TOKEN,
          CLOUDFLARE_ACCOUNT_ID: account.id,
          WRANGLER_SEND_METRICS: "false",
          NO_COLOR: "1",
          HOME: dir,
        },
      });

    const upload = await wrangler(
      "upload",
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
      "--name",
      "my-origin-cert",
    );
    assert.equal(upload.code, 0, upload.stdout + upload.stderr);
    assert.match(upload.stdout, /Uploading mTLS Certificate my-origin-cert\.\.\./);
    assert.match(upload.stdout, /Success! Uploaded mTLS Certificate my-origin-cert/);
    const id = /ID: ([0-9a-f]{32})/.exec(upload.stdout)?.[1];
    assert.ok(id, upload.stdout);
    assert.match(upload.stdout, /Issuer: CN=Workers Test CA/);

    const list = await wrangler("list");
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`ID: ${id}\\nName: my-origin-cert\\nIssuer: CN=Workers Test CA`));

    const stored = (await api("GET", `/accounts/${account.id}/mtls_certificates/${id}`)).result;
    assert.equal(stored.name, "my-origin-cert");
    assert.equal(stored.private_key, undefined, "the key is never returned");

    const ambiguous = await wrangler("delete", "--id", id, "--name", "my-origin-cert");
    // wrangler's own wording (and its exit status, whatever it is): the API is never asked.
    assert.match(ambiguous.stdout + ambiguous.stderr, /can't provide both --id and --name/);

    const removed = await wrangler("delete", "--name", "my-origin-cert");
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`Deleted certificate ${id} \\(my-origin-cert\\) successfully`));
    assert.equal((await api("GET", `/accounts/${account.id}/mtls_certificates/${id}`)).status, 404);
  } finally {
    await up?.stop();
    await cleanup();
  }
});
