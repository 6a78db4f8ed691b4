/**
 * The functions API: Cloudflare's multipart script upload (metadata + module part), the JSON form,
 * validation with codes (workerd itself checks the module), zone routes, the audit trail, the tail.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { functionLogs } from "../../src/functions/logs.ts";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  makePki,
  type Pki,
  startHarness,
} from "../control/helpers.ts";
import { missingPeer } from "../helpers/peers.ts";

const WORKER = "export default { fetch(request, env) { return new Response(env.GREETING); } };\n";

describe("functions API", { skip: missingPeer("openssl") }, () => {
  let h: Harness;
  let pki: Pki;
  let accountId: string;
  let zoneId: string;
  let certId: string;
  let caId: string;
  const scripts = () => `/accounts/${accountId}/workers/scripts`;

  /** Cloudflare's upload: a multipart form, `metadata` JSON and the module under its name. */
  async function multipart(name: string, metadata: unknown, module = WORKER) {
    const form = new FormData();
    form.set("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }), "metadata.json");
    form.set("worker.js", new Blob([module], { type: "application/javascript+module" }), "worker.js");
    const response = await fetch(`${h.url}/client/v4${scripts()}/${name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${h.adminToken}` },
      body: form,
    });
    const body = await response.json();
    return { status: response.status, body, result: body.result };
  }

  before(async () => {
    h = await startHarness();
    pki = await makePki(h.dir);
    ({ accountId, zoneId } = await createAccountAndZone(h));
    const cert = await h.call("POST", `/accounts/${accountId}/mtls_certificates`, {
      body: { name: "origin-client", certificates: pki.leafPem, private_key: pki.leafKeyPem, ca: false },
    });
    assertOk(cert);
    certId = cert.result.id;
    const ca = await h.call("POST", `/accounts/${accountId}/mtls_certificates`, {
      body: { name: "a-ca", certificates: pki.caPem, ca: true },
    });
    caId = ca.result.id;
  });
  after(() => h?.close());

  test("a multipart upload in Cloudflare's shape deploys the module with its bindings", async () => {
    const reply = await multipart("mtls-worker", {
      main_module: "worker.js",
      compatibility_date: "2024-09-23",
      bindings: [
        { type: "mtls_certificate", name: "MY_CERT", certificate_id: certId },
        { type: "plain_text", name: "GREETING", text: "hello" },
      ],
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.result.id, "mtls-worker");
    assert.deepEqual(reply.result.bindings, [
      { type: "mtls_certificate", name: "MY_CERT", certificate_id: certId },
      { type: "plain_text", name: "GREETING", text: "hello" },
    ]);
    const got = await h.call("GET", `${scripts()}/mtls-worker`);
    assertOk(got);
    assert.equal(got.result.script, WORKER);
    assert.equal(got.result.compatibility_date, "2024-09-23");
    const audit = await h.call("GET", "/audit_logs?action=function.create");
    assertOk(audit);
    assert.equal(JSON.stringify(audit.result).includes(WORKER.trim()), false, "the audit keeps no source");
    assert.ok(JSON.stringify(audit.result).includes(`workers/scripts/mtls-worker`));
  });

  test("bad uploads are 400 with a code and a field; the module is checked by workerd", async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ main_module: "other.js" }, 10021, /metadata\.main_module: no part named "other\.js"/],
      [
        {
          main_module: "worker.js",
          bindings: [{ type: "mtls_certificate", name: "C", certificate_id: caId }],
        },
        10120,
        /has no private key/,
      ],
      [
        { main_module: "worker.js", bindings: [{ type: "kv_namespace", name: "KV" }] },
        10021,
        /bindings\[0\]\.type/,
      ],
      [
        { main_module: "worker.js", bindings: [{ type: "plain_text", name: "not valid", text: "" }] },
        10021,
        /bindings\[0\]\.name/,
      ],
      [{ main_module: "worker.js", limits: { cpu_ms: 0 } }, 10021, /limits\.cpu_ms/],
      [{ main_module: "worker.js", routes: ["elsewhere.test/*"] }, 10121, /no zone of this account/],
      [{ main_module: "worker.js", routes: ["api.example.test"] }, 10021, /needs a path/],
    ];
    for (const [metadata, code, message] of cases) {
      const reply = await multipart("bad", metadata);
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.equal(reply.body.errors[0].code, code, JSON.stringify(reply.body));
      assert.match(reply.body.errors[0].message, message);
    }
    const syntax = await multipart("bad", { main_module: "worker.js" }, "export default { fetch() {");
    assert.equal(syntax.status, 400);
    assert.match(syntax.body.errors[0].message, /^script: Uncaught SyntaxError/);
    const noHandler = await h.call("PUT", `${scripts()}/bad`, { body: { script: "export const x = 1;" } });
    assertError(noHandler, 400, /ExportedHandler/);
    assertError(
      await h.call("PUT", `${scripts()}/Bad Name`, { body: { script: WORKER } }),
      400,
      /script name/,
    );
    assert.equal((await h.call("GET", `${scripts()}/bad`)).status, 404, "nothing was written");
  });

  test("routes: by JSON upload (replacing the script's routes) and by the zone's routes API", async () => {
    const deployed = await h.call("PUT", `${scripts()}/edge-fn`, {
      body: {
        script: WORKER,
        routes: ["api.example.test/v1/*", { pattern: "*.example.test/static*", zone_id: zoneId }],
      },
    });
    assertOk(deployed);
    assert.deepEqual(deployed.result.routes.map((r: { pattern: string }) => r.pattern).sort(), [
      "*.example.test/static*",
      "api.example.test/v1/*",
    ]);
    const again = await h.call("PUT", `${scripts()}/edge-fn`, {
      body: { script: WORKER, routes: ["api.example.test/v2/*"] },
    });
    assertOk(again);
    assert.deepEqual(
      again.result.routes.map((r: { pattern: string }) => r.pattern),
      ["api.example.test/v2/*"],
    );

    const created = await h.call("POST", `/zones/${zoneId}/workers/routes`, {
      body: { pattern: "shop.example.test/*", script: "mtls-worker" },
    });
    assertOk(created);
    assert.equal(created.result.script, "mtls-worker");
    const duplicate = await h.call("POST", `/zones/${zoneId}/workers/routes`, {
      body: { pattern: "shop.example.test/*", script: "edge-fn" },
    });
    assertError(duplicate, 409, /already exists/);
    assert.equal(duplicate.body.errors[0]?.code, 10020);
    assertError(
      await h.call("POST", `/zones/${zoneId}/workers/routes`, {
        body: { pattern: "other.test/*", script: "edge-fn" },
      }),
      400,
      /not within zone example\.test/,
    );
    assertError(
      await h.call("POST", `/zones/${zoneId}/workers/routes`, {
        body: { pattern: "x.example.test/*", script: "nope" },
      }),
      400,
      /no function "nope"/,
    );
    const listed = await h.call("GET", `/zones/${zoneId}/workers/routes`);
    assert.deepEqual(
      listed.result.map((r: { pattern: string; script: string }) => `${r.pattern} ${r.script}`),
      ["api.example.test/v2/* edge-fn", "shop.example.test/* mtls-worker"],
    );
    assertOk(await h.call("DELETE", `/zones/${zoneId}/workers/routes/${created.result.id}`));
    assertError(await h.call("DELETE", `/zones/${zoneId}/workers/routes/${created.result.id}`), 404);
    const removed = await h.call("DELETE", `${scripts()}/edge-fn`);
    assertOk(removed);
    assert.deepEqual((await h.call("GET", `/zones/${zoneId}/workers/routes`)).result, []);
    const names = (await h.call("GET", scripts())).result.map((s: { id: string }) => s.id);
    assert.deepEqual(names, ["mtls-worker"]);
  });

  test("wrangler's calls: service, secrets, script routes, versions and deployments", async () => {
    assertError(await h.call("GET", `/accounts/${accountId}/workers/services/nope`), 404);
    assert.equal(
      (await h.call("GET", `/accounts/${accountId}/workers/services/nope`)).body.errors[0]?.code,
      10007,
    );
    const service = await h.call("GET", `/accounts/${accountId}/workers/services/mtls-worker`);
    assertOk(service);
    assert.equal(service.result.default_environment.script.id, "mtls-worker");
    assert.deepEqual((await h.call("GET", `${scripts()}/mtls-worker/secrets`)).result, []);
    const routes = await h.call("PUT", `${scripts()}/mtls-worker/routes`, {
      body: [{ pattern: "mtls.example.test/*", zone_name: "example.test" }, { pattern: "x.example.test/*" }],
    });
    assertOk(routes);
    assert.deepEqual(routes.result.map((r: { pattern: string }) => r.pattern).sort(), [
      "mtls.example.test/*",
      "x.example.test/*",
    ]);
    assertOk(await h.call("PUT", `${scripts()}/mtls-worker/routes`, { body: [] }));
    assertError(
      await h.call("POST", `${scripts()}/mtls-worker/subdomain`, { body: { enabled: true } }),
      400,
      /workers\.dev/,
    );
    assertOk(await h.call("POST", `${scripts()}/mtls-worker/subdomain`, { body: { enabled: false } }));
    const deployments = await h.call("GET", `${scripts()}/mtls-worker/deployments`);
    const current = deployments.result.deployments[0].versions[0].version_id as string;
    assert.match(current, /^[0-9a-f]{32}$/);
    const dashed = `${current.slice(0, 8)}-${current.slice(8, 12)}-${current.slice(12, 16)}-${current.slice(16, 20)}-${current.slice(20)}`;
    assertOk(
      await h.call("POST", `${scripts()}/mtls-worker/deployments`, {
        body: { strategy: "percentage", versions: [{ version_id: dashed, percentage: 100 }] },
      }),
    );
    assertError(
      await h.call("POST", `${scripts()}/mtls-worker/deployments`, {
        body: {
          versions: [
            { version_id: dashed, percentage: 50 },
            { version_id: "0".repeat(32), percentage: 50 },
          ],
        },
      }),
      400,
      /only the current version/,
    );
  });

  test("a certificate a function binds cannot be deleted", async () => {
    assertError(
      await h.call("DELETE", `/accounts/${accountId}/mtls_certificates/${certId}`),
      409,
      /in use by function mtls-worker \(binding MY_CERT\)/,
    );
  });

  test("tail: the function's recent lines as NDJSON", async () => {
    functionLogs.push(`${accountId}/mtls-worker`, {
      time: "2026-11-25T00:00:00.000Z",
      script: "mtls-worker",
      level: "log",
      message: "hello from the worker",
    });
    const response = await fetch(`${h.url}/client/v4${scripts()}/mtls-worker/tail`, {
      headers: { authorization: `Bearer ${h.adminToken}` },
    });
    assert.equal(response.status, 200);
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(lines.at(-1).message, "hello from the worker");
    assertError(await h.call("GET", `${scripts()}/missing/tail`), 404);
  });
});
