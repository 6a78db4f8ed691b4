/**
 * Custom firewall rules end to end, with the real binary and curl:
 * - `portcullis up --demo`: the log-then-block workflow through the Cloudflare-shaped ruleset API (a log
 *   rule records would-be-blocked requests as events; switched to block it takes effect within 1 s; a bad
 *   expression is refused with its offset and the rules in force stay);
 * - `portcullis edge` with a config file: the three documented Cloudflare examples, skip, a custom block
 *   response, drop (no response at all), upgrades, metrics, and a config with a bad expression.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
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
import { makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, run, tempDir } from "../helpers/run.ts";
import { apiClient, demoStatus, type Started, upDemo, waitFor } from "../helpers/up.ts";

const skip = missingPeer("openssl", "curl");
const PHASE = "http_request_firewall_custom";

describe("rules: the log-then-block workflow on portcullis up", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let up: Started;
  let edgePort: number;
  let api: ReturnType<typeof apiClient>;
  let accountId: string;
  let entrypoint: string;

  /** curl to the demo host: the status code. */
  const status = (withCertificate: boolean) => demoStatus(edgePort, join(dir, "demo"), withCertificate);

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    edgePort = await freePort();
    const apiPort = await freePort();
    up = await upDemo(dir, edgePort, apiPort);
    api = apiClient(apiPort);
    const zone = (await api("GET", "/zones?name=localhost")).result[0] as Record<string, string>;
    accountId = (zone.account as unknown as { id: string }).id;
    entrypoint = `/zones/${zone.id}/rulesets/phases/${PHASE}/entrypoint`;
    // The demo host enforces; rules are for a host that lets requests without a certificate through.
    const host = (await api("GET", `/zones/${zone.id}/hostnames`)).result[0] as Record<string, unknown>;
    const { id, zone_id: _z, created_on: _c, modified_on: _m, ...body } = host;
    const mtls = { ...(body.mtls as object), mode: "permissive" };
    const origin = Object.fromEntries(
      Object.entries(body.origin as object).filter(([, value]) => value !== null),
    );
    const put = await api("PUT", `/zones/${zone.id}/hostnames/${id}`, { ...body, mtls, origin });
    assert.equal(put.status, 200, JSON.stringify(put));
    await waitFor(async () => (await status(false)) === "200");
  });

  after(async () => {
    await up?.stop();
    await cleanup?.();
  });

  test("log records who would be blocked; block takes effect within 1 s; certificates still pass", async () => {
    const expression = '(http.host in {"app.localhost"} and not cf.tls_client_auth.cert_verified)';
    const logged = await api("PUT", entrypoint, {
      rules: [{ expression, action: "log", description: "who has no certificate?" }],
    });
    assert.equal(logged.status, 200, JSON.stringify(logged));
    const rule = (logged.result.rules as unknown as { id: string; action: string }[])[0];
    assert.ok(rule);

    // Logged, not blocked: the request still reaches the origin, and an event names the rule.
    const since = Date.now();
    let answered = "";
    let events: Record<string, unknown>[] = [];
    await waitFor(async () => {
      answered = await status(false);
      assert.equal(answered, "200");
      events = (await api("GET", `/accounts/${accountId}/events?action=log`)).result;
      return events.some((event) => event.ruleId === rule.id);
    }, 5000);
    const event = events.find((e) => e.ruleId === rule.id) as Record<string, unknown>;
    assert.equal(event.host, "app.localhost");
    assert.equal(event.path, "/");
    assert.equal(event.reason, "rule");
    assert.equal(event.status, 200, "a log event carries the status the request got");
    assert.equal((event.mtls as { presented: boolean }).presented, false);
    assert.ok(Date.now() - since < 5000);
    // A request with the certificate does not match the rule: no event for it.
    assert.equal(await status(true), "200");

    // Switch to block: the next request without a certificate is refused within a second.
    const blocked = await api("PUT", entrypoint, {
      rules: [{ id: rule.id, expression, action: "block" }],
    });
    assert.equal(blocked.status, 200, JSON.stringify(blocked));
    const switched = Date.now();
    while ((await status(false)) !== "403") {
      assert.ok(Date.now() - switched < 1000, "block enforced within 1 s");
    }
    assert.equal(await status(true), "200", "a valid certificate still passes");
    await waitFor(async () => {
      const found = (await api("GET", `/accounts/${accountId}/events?action=block`)).result;
      return found.some((e) => e.ruleId === rule.id && e.status === 403);
    });

    // A bad expression is refused with its offset, and the block rule stays in force.
    const bad = await api("PUT", entrypoint, {
      rules: [
        { expression: 'http.host in {"app.localhost"} and not cf.tls_client_auth.verified', action: "log" },
      ],
    });
    assert.equal(bad.status, 400);
    const error = (bad as unknown as { errors: { code: number; message: string }[] }).errors[0];
    assert.equal(error?.code, 20100);
    assert.match(error?.message ?? "", /^body\.rules\[0\]\.expression: invalid expression at character 39: /);
    assert.equal((await api("GET", entrypoint)).result.version, blocked.result.version);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status(false), "403");
  });
});

describe("rules: portcullis edge with firewall rules in the config file", { skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let origin: EchoOrigin;
  let edge: EdgeProcess;
  let revoked: { cert: string; key: string };
  let clientCaSki: string;

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    const hosts = ["api.example.test", "admin.example.test", "ski.example.test", "drop.example.test"];
    pki = await makeEdgePki(dir, hosts);
    const r = await makeClientCert(dir, "revoked-client", { issuer: "client-ca" });
    revoked = { cert: r.certPath, key: r.keyPath };
    await opensslCrl(dir, "client-ca", [r.certPath], "client-ca.crl");
    const ski = await openssl(["x509", "-in", pki.clientCa, "-noout", "-ext", "subjectKeyIdentifier"]);
    clientCaSki = (ski.stdout.split("\n")[1] ?? "").trim().replaceAll(":", "").toUpperCase();
    assert.match(clientCaSki, /^[0-9A-F]{40}$/);
    origin = await startEchoOrigin();
    const tls = "tls: { cert: server.pem, key: server-key.pem }";
    const permissive = "mtls: { mode: permissive, trusted_cas: [client-ca.pem], crls: [client-ca.crl] }";
    edge = await startEdgeProcess(
      dir,
      `
listen: { https: "127.0.0.1:{{HTTPS}}" }
admin: "127.0.0.1:{{ADMIN}}"
hostnames:
  - hostname: api.example.test
    ${tls}
    ${permissive}
    origin: { url: "${origin.url}" }
    firewall:
      - id: health
        expression: http.request.uri.path eq "/health"
        action: skip
      - id: cf-example-1
        expression: (http.host in {"api.example.test"} and not cf.tls_client_auth.cert_verified)
        action: block
  - hostname: admin.example.test
    ${tls}
    ${permissive}
    origin: { url: "${origin.url}" }
    firewall:
      - id: cf-example-2
        expression: ((not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin"})
        action: block
        action_parameters:
          response: { status_code: 401, content: '{"error":"client certificate required"}', content_type: application/json }
  - hostname: ski.example.test
    ${tls}
    mtls: { mode: permissive, trusted_cas: [client-ca.pem, other-ca.pem] }
    origin: { url: "${origin.url}" }
    firewall:
      - id: cf-example-3
        expression: not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski eq "${clientCaSki}")
        action: block
  - hostname: drop.example.test
    ${tls}
    ${permissive}
    origin: { url: "${origin.url}" }
    firewall:
      - id: watch
        expression: starts_with(http.request.uri.path, "/watched")
        action: log
      - id: no-cert-no-answer
        expression: mtls.verification_status eq "MISSING_CLIENT_CERTIFICATE"
        action: drop
      - id: disabled
        expression: ssl
        action: block
        enabled: false
`,
    );
  });

  after(async () => {
    await edge?.stop();
    await origin?.stop();
    await cleanup?.();
  });

  const get = (host: string, path: string, args: string[] = []) =>
    curlEdge(pki, edge.port, `https://${host}${path}`, args);

  test("example 1: a host refuses requests without a verified certificate; skip lets /health through", async () => {
    const refused = await get("api.example.test", "/", ["-H", "Accept: application/json"]);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers["x-portcullis-reason"], "rule");
    assert.equal(refused.headers["x-portcullis-rule"], "cf-example-1");
    assert.equal(JSON.parse(refused.body).error.reason, "rule");
    const html = await get("api.example.test", "/");
    assert.match(html.body, /<h1>403 Forbidden<\/h1>.*firewall rule/s);
    assert.equal((await get("api.example.test", "/", clientCertArgs(pki.client))).status, 200);
    assert.equal((await get("api.example.test", "/", clientCertArgs(pki.otherClient))).status, 403);
    // skip stops the rules: /health passes without a certificate; other paths do not.
    const health = await get("api.example.test", "/health");
    assert.equal(health.status, 200);
    assert.equal(origin.last()?.url, "/health");
    assert.equal((await get("api.example.test", "/health/x")).status, 403);
    // HTTP/2 too.
    assert.equal((await get("api.example.test", "/", ["--http2"])).status, 403);
    // An upgrade request goes through the same rules.
    const upgrade = await get("api.example.test", "/socket", [
      "--http1.1",
      "-H",
      "Connection: Upgrade",
      "-H",
      "Upgrade: websocket",
    ]);
    assert.equal(upgrade.status, 403);
    assert.equal(upgrade.headers["x-portcullis-rule"], "cf-example-1");
  });

  test("example 2: /admin needs an unrevoked certificate; the block answers a custom response", async () => {
    const refused = await get("admin.example.test", "/admin");
    assert.equal(refused.status, 401);
    assert.equal(refused.headers["content-type"], "application/json");
    assert.equal(refused.body, '{"error":"client certificate required"}');
    assert.equal(refused.headers["x-portcullis-rule"], "cf-example-2");
    assert.equal((await get("admin.example.test", "/admin", clientCertArgs(pki.client))).status, 200);
    assert.equal((await get("admin.example.test", "/admin", clientCertArgs(revoked))).status, 401);
    assert.equal((await get("admin.example.test", "/elsewhere")).status, 200);
  });

  test("example 3: only certificates from the CA with this SKI pass", async () => {
    assert.equal((await get("ski.example.test", "/", clientCertArgs(pki.client))).status, 200);
    // other-ca is trusted here (verified), but its SKI is not the one the rule names.
    assert.equal((await get("ski.example.test", "/", clientCertArgs(pki.otherClient))).status, 403);
    assert.equal((await get("ski.example.test", "/")).status, 403);
  });

  test("drop closes the connection with no response; log records and goes on", async () => {
    /** curl to drop.example.test without a certificate: its exit code and the status it printed. */
    const dropped = (version: string) =>
      run("curl", [
        "-sS",
        version,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
        "--resolve",
        `drop.example.test:${edge.port}:127.0.0.1`,
        "--cacert",
        pki.serverCa,
        `https://drop.example.test:${edge.port}/`,
      ]);
    const http1 = await dropped("--http1.1");
    assert.equal(http1.code, 52, `curl: ${http1.stderr}`); // "Empty reply from server"
    assert.equal(http1.stdout, "000");
    const http2 = await dropped("--http2");
    assert.notEqual(http2.code, 0, "HTTP/2: no response either");
    assert.equal(http2.stdout, "000");

    const logged = await get("drop.example.test", "/watched/1", clientCertArgs(pki.client));
    assert.equal(logged.status, 200, "log does not stop the request; the disabled block rule never runs");
    const line = await edge.waitForLog((l) => l.event === "firewall_rule" && l.rule === "watch");
    assert.equal(line.action, "log");
    assert.equal(line.host, "drop.example.test");
    assert.equal(line.path, "/watched/1");
    await edge.waitForLog(
      (l) => l.event === "firewall_rule" && l.rule === "no-cert-no-answer" && l.action === "drop",
    );
  });

  test("every match is counted per host, rule and action", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${edge.adminPort}/metrics`)).text();
    const count = (host: string, rule: string, action: string) =>
      Number(
        new RegExp(
          `portcullis_firewall_rule_matches_total\\{host="${host.replaceAll(".", "\\.")}",rule="${rule}",action="${action}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    assert.ok(count("api.example.test", "cf-example-1", "block") >= 5, metrics);
    assert.ok(count("api.example.test", "health", "skip") >= 1);
    assert.ok(count("drop.example.test", "no-cert-no-answer", "drop") >= 2);
    assert.ok(count("drop.example.test", "watch", "log") >= 1);
    assert.equal(count("drop.example.test", "disabled", "block"), 0);
  });
});

test("a config file with a bad expression: one line with file:line:col, exit 1", { skip }, async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const pki = await makeEdgePki(dir, ["api.example.test"]);
    const file = join(dir, "portcullis.yaml");
    await writeFile(
      file,
      [
        'listen: { https: "127.0.0.1:8443" }',
        "hostnames:",
        "  - hostname: api.example.test",
        `    tls: { cert: ${pki.file("server.pem")}, key: ${pki.file("server-key.pem")} }`,
        '    origin: { url: "http://127.0.0.1:9" }',
        "    firewall:",
        "      - action: block",
        '        expression: http.host eq "api.example.test" and cf.tls_client_auth.cert_verifed',
        "",
      ].join("\n"),
    );
    const result = await portcullis(["edge", "--config", file], { cwd: dir, timeoutMs: 20_000 });
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? "",
      new RegExp(
        `${file.replaceAll(".", "\\.")}:8:57: hostnames\\[0\\]\\.firewall\\[0\\]\\.expression: invalid expression at character 36: .*cert_verifed`,
      ),
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.ok((await readFile(file, "utf8")).includes("cert_verifed"));
  } finally {
    await cleanup();
  }
});
