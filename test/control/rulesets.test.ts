/** Custom firewall rulesets (Cloudflare's entrypoint shape) and the native check/test helpers. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Cloudflare from "cloudflare";
import fc from "fast-check";
import { DEFAULT_CRL_REFRESH_MS, DEFAULT_LIMITS } from "../../src/config/defaults.ts";
import { type EdgeBase, edgeConfigFromStore } from "../../src/snapshot/from-store.ts";
import { compileSnapshot } from "../../src/snapshot/snapshot.ts";
import {
  assertError,
  assertOk,
  createAccountAndZone,
  type Harness,
  makePki,
  startHarness,
} from "./helpers.ts";

const EDGE_BASE: EdgeBase = {
  listen: { https: { host: "127.0.0.1", port: 0 } },
  dataDir: "/nonexistent",
  log: { level: "silent" },
  crlRefreshIntervalMs: DEFAULT_CRL_REFRESH_MS,
  limits: DEFAULT_LIMITS,
};

const PHASE = "http_request_firewall_custom";
const API_RULE = '(http.host in {"api.example.test"} and not cf.tls_client_auth.cert_verified)';
const ADMIN_RULE =
  '((not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin"})';
const SKI_RULE = 'not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski eq "A1B2")';

describe("zones/{zone_id}/rulesets", () => {
  let h: Harness;
  let zoneId: string;
  let entrypoint: string;
  before(async () => {
    h = await startHarness();
    ({ zoneId } = await createAccountAndZone(h));
    entrypoint = `/zones/${zoneId}/rulesets/phases/${PHASE}/entrypoint`;
  });
  after(() => h.close());

  test("no entrypoint yet is a 404; PUT creates it in Cloudflare's shape", async () => {
    assertError(
      await h.call("GET", entrypoint),
      404,
      /could not find the http_request_firewall_custom entrypoint/,
    );
    const put = await h.call("PUT", entrypoint, {
      body: {
        description: "mTLS enforcement",
        rules: [
          { expression: API_RULE, action: "log", description: "who would be blocked" },
          {
            expression: ADMIN_RULE,
            action: "block",
            action_parameters: {
              response: {
                status_code: 401,
                content: '{"error":"certificate"}',
                content_type: "application/json",
              },
            },
          },
          {
            expression: 'http.request.uri.path eq "/health"',
            action: "skip",
            action_parameters: { ruleset: "current" },
          },
          { expression: SKI_RULE, action: "drop", enabled: false },
        ],
      },
    });
    assertOk(put);
    const ruleset = put.result;
    assert.match(ruleset.id, /^[0-9a-f]{32}$/);
    assert.equal(ruleset.name, "default");
    assert.equal(ruleset.kind, "zone");
    assert.equal(ruleset.phase, PHASE);
    assert.equal(ruleset.version, "1");
    assert.equal(ruleset.description, "mTLS enforcement");
    assert.match(ruleset.last_updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(ruleset.rules.length, 4);
    const [log, block, skip, drop] = ruleset.rules;
    for (const rule of ruleset.rules) {
      assert.match(rule.id, /^[0-9a-f]{32}$/);
      assert.equal(rule.ref, rule.id);
      assert.equal(rule.version, "1");
    }
    assert.deepEqual(
      { action: log.action, expression: log.expression, enabled: log.enabled, description: log.description },
      { action: "log", expression: API_RULE, enabled: true, description: "who would be blocked" },
    );
    assert.equal(log.action_parameters, undefined);
    assert.deepEqual(block.action_parameters, {
      response: { status_code: 401, content: '{"error":"certificate"}', content_type: "application/json" },
    });
    assert.deepEqual(skip.action_parameters, { ruleset: "current" });
    assert.equal(drop.enabled, false);
    assert.equal(drop.description, "");

    const got = await h.call("GET", entrypoint);
    assertOk(got);
    assert.deepEqual(got.result, ruleset);
    const byId = await h.call("GET", `/zones/${zoneId}/rulesets/${ruleset.id}`);
    assert.deepEqual(byId.result, ruleset);
    const list = await h.call("GET", `/zones/${zoneId}/rulesets`);
    assertOk(list);
    const { rules: _rules, ...summary } = ruleset;
    assert.deepEqual(list.result, [summary]);
    assertError(await h.call("GET", `/zones/${zoneId}/rulesets/${"0".repeat(32)}`), 404);

    // The write is audited with before and after.
    const audit = await h.call("GET", `/audit_logs?action=ruleset.create`);
    assert.equal(audit.result[0]?.resource, `zones/${zoneId}/rulesets/${ruleset.id}`);
  });

  test("a read-modify-write keeps unchanged rules' versions and bumps the changed one's", async () => {
    const before = (await h.call("GET", entrypoint)).result;
    const [log, ...rest] = before.rules;
    const put = await h.call("PUT", entrypoint, {
      body: { rules: [{ ...log, action: "block" }, ...rest] },
    });
    assertOk(put);
    assert.equal(put.result.version, "2");
    assert.equal(put.result.id, before.id);
    assert.equal(put.result.description, "mTLS enforcement", "kept when not given");
    const [changed, ...same] = put.result.rules;
    assert.equal(changed.id, log.id);
    assert.equal(changed.action, "block");
    assert.equal(changed.version, "2");
    assert.deepEqual(same, rest);
    const audit = await h.call("GET", `/audit_logs?action=ruleset.update`);
    assert.equal(audit.result[0]?.before.rules[0].action, "log");
    assert.equal(audit.result[0]?.after.rules[0].action, "block");
  });

  test("a bad expression is a 400 naming the rule and the character, and nothing is saved", async () => {
    const before = (await h.call("GET", entrypoint)).result;
    const reply = await h.call("PUT", entrypoint, {
      body: {
        rules: [
          { expression: API_RULE, action: "block" },
          { expression: 'http.host eq "a" and cf.tls_client_auth.cert_verifed', action: "block" },
        ],
      },
    });
    assertError(
      reply,
      400,
      /^body\.rules\[1\]\.expression: invalid expression at character 21: .*cert_verifed/,
    );
    assert.equal(reply.body.errors[0]?.code, 20100);
    assert.deepEqual((await h.call("GET", entrypoint)).result, before);
  });

  test("structural and semantic mistakes name the field", async () => {
    const bad = async (rules: unknown[], message: RegExp) =>
      assertError(await h.call("PUT", entrypoint, { body: { rules } }), 400, message);
    await bad([{ expression: API_RULE }], /^body\.rules\[0\]\.action: is required/);
    await bad(
      [{ expression: API_RULE, action: "challenge" }],
      /^body\.rules\[0\]\.action: must be one of "block", "log", "skip", "drop"/,
    );
    await bad(
      [{ expression: API_RULE, action: "block", action_parameters: { response: { status_code: 200 } } }],
      /^body\.rules\[0\]\.action_parameters\.response\.status_code: must be >= 400/,
    );
    await bad(
      [{ expression: API_RULE, action: "log", action_parameters: { response: { status_code: 403 } } }],
      /^body\.rules\[0\]\.action_parameters\.response: only a block rule takes a response/,
    );
    await bad(
      [{ expression: API_RULE, action: "block", action_parameters: { ruleset: "current" } }],
      /^body\.rules\[0\]\.action_parameters\.ruleset: only a skip rule takes ruleset/,
    );
    await bad(
      [{ expression: API_RULE, action: "block", actoin: 1 }],
      /unknown key "actoin" \(did you mean "action"\?\)/,
    );
    const id = "ab".repeat(16);
    await bad(
      [
        { id, expression: API_RULE, action: "log" },
        { id, expression: API_RULE, action: "block" },
      ],
      /^body\.rules\[1\]\.id: repeats body\.rules\[0\]\.id/,
    );
    await bad(
      [{ expression: "x".repeat(5000), action: "log" }],
      /^body\.rules\[0\]\.expression: must NOT have more than 4096 characters/,
    );
  });

  test("given ids are kept; an empty list clears the rules but keeps the ruleset", async () => {
    const id = "cd".repeat(16);
    const put = await h.call("PUT", entrypoint, {
      body: { rules: [{ id, ref: "mine", expression: API_RULE, action: "log" }] },
    });
    assertOk(put);
    assert.equal(put.result.rules[0].id, id);
    assert.equal(put.result.rules[0].ref, "mine");
    const cleared = await h.call("PUT", entrypoint, { body: { rules: [] } });
    assertOk(cleared);
    assert.deepEqual(cleared.result.rules, []);
    assert.equal(cleared.result.id, put.result.id);
  });

  test("a token scoped to another zone can neither read nor write the ruleset", async () => {
    const other = await createAccountAndZone(h, "other.test");
    const token = await h.call("POST", "/user/tokens", {
      body: { name: "other", scopes: [{ kind: "zone", zone_id: other.zoneId, access: "edit" }] },
    });
    assertOk(token);
    const secret = token.result.value;
    // Its own zone's entrypoint: readable (404, none yet) and writable.
    const own = `/zones/${other.zoneId}/rulesets/phases/${PHASE}/entrypoint`;
    assertError(await h.call("GET", own, { token: secret }), 404);
    assertOk(await h.call("PUT", own, { token: secret, body: { rules: [] } }));
    assertError(await h.call("GET", entrypoint, { token: secret }), 403);
    assertError(await h.call("PUT", entrypoint, { token: secret, body: { rules: [] } }), 403);
  });
});

describe("the zone's ruleset at the edge", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test("applies to every hostname of its zone, compiled once; other zones' hosts have none", async () => {
    const pki = await makePki(h.dir);
    const { accountId, zoneId } = await createAccountAndZone(h);
    const other = await h.call("POST", "/zones", {
      body: { name: "other.test", account: { id: accountId } },
    });
    assertOk(other);
    const server = await h.call("POST", `/accounts/${accountId}/mtls_certificates`, {
      body: { certificates: pki.leafPem + pki.intermediatePem, private_key: pki.leafKeyPem, ca: false },
    });
    assertOk(server);
    const names = [
      [zoneId, "api.example.test"],
      [zoneId, "*.example.test"],
      [other.result.id, "www.other.test"],
    ];
    for (const [zone, hostname] of names) {
      const body = {
        hostname,
        server_certificate_id: server.result.id,
        origin: { url: "http://127.0.0.1:1" },
      };
      assertOk(await h.call("POST", `/zones/${zone}/hostnames`, { body }));
    }
    const entrypoint = `/zones/${zoneId}/rulesets/phases/${PHASE}/entrypoint`;
    const put = await h.call("PUT", entrypoint, {
      body: {
        rules: [
          { expression: API_RULE, action: "log" },
          {
            expression: ADMIN_RULE,
            action: "block",
            action_parameters: { response: { status_code: 401, content: "no", content_type: "text/plain" } },
          },
          { expression: SKI_RULE, action: "drop", enabled: false },
        ],
      },
    });
    assertOk(put);
    const config = await edgeConfigFromStore(h.store, EDGE_BASE);
    const byName = new Map(config.hosts.map((host) => [host.hostname, host]));
    const rules = byName.get("api.example.test")?.firewall;
    assert.deepEqual(rules, [
      { id: put.result.rules[0].id, expression: API_RULE, action: "log", description: "", enabled: true },
      {
        id: put.result.rules[1].id,
        expression: ADMIN_RULE,
        action: "block",
        description: "",
        enabled: true,
        response: { status: 401, content: "no", contentType: "text/plain" },
      },
      { id: put.result.rules[2].id, expression: SKI_RULE, action: "drop", description: "", enabled: false },
    ]);
    assert.equal(byName.get("*.example.test")?.firewall, rules, "one list for the zone's hosts");
    assert.equal(byName.get("www.other.test")?.firewall, undefined);

    const { snapshot } = compileSnapshot(config, new Map());
    const api = snapshot.lookup("api.example.test");
    const wildcard = snapshot.lookup("x.example.test");
    assert.equal(api?.firewall?.rules.length, 2, "the disabled rule is not compiled");
    assert.equal(wildcard?.firewall, api?.firewall, "compiled once for the zone");
    assert.equal(snapshot.lookup("www.other.test")?.firewall, undefined);
    for (const host of snapshot.hosts) void host.origin.dispatcher.close();
  });
});

/** What the SDK returns, as far as these tests read it. */
type SdkRuleset = { id: string; phase: string; version: string; rules: { id: string; action?: string }[] };

describe("the cloudflare SDK", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test("rulesets.phases.update/get and rulesets.list work unchanged", async () => {
    const { zoneId: zone_id } = await createAccountAndZone(h);
    const cf = new Cloudflare({ apiToken: h.adminToken, baseURL: `${h.url}/client/v4`, maxRetries: 0 });
    const updated = (await cf.rulesets.phases.update(PHASE, {
      zone_id,
      rules: [{ expression: API_RULE, action: "log", description: "log first" }],
    })) as SdkRuleset;
    assert.equal(updated.phase, PHASE);
    assert.equal(updated.rules[0]?.action, "log");
    const rule = updated.rules[0] as { id: string; expression?: string };
    const blocked = (await cf.rulesets.phases.update(PHASE, {
      zone_id,
      rules: [{ id: rule.id, expression: API_RULE, action: "block" }],
    })) as SdkRuleset;
    assert.equal(blocked.rules[0]?.id, rule.id);
    assert.equal(blocked.version, "2");
    const got: SdkRuleset = await cf.rulesets.phases.get(PHASE, { zone_id });
    assert.equal(got.rules[0]?.action, "block");
    const listed = [];
    for await (const ruleset of cf.rulesets.list({ zone_id })) listed.push(ruleset);
    assert.deepEqual(
      listed.map((r) => [r.id, r.phase, r.kind]),
      [[got.id, PHASE, "zone"]],
    );
    await assert.rejects(
      cf.rulesets.phases.update(PHASE, {
        zone_id,
        rules: [{ expression: "http.hots eq 1", action: "block" }],
      }),
      (err: Error & { status?: number }) => err.status === 400 && /character 0/.test(err.message),
    );
  });
});

describe("generated ruleset bodies", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test("get 200 or a 4xx envelope, never a 5xx; a refused body changes nothing", async () => {
    const { zoneId } = await createAccountAndZone(h);
    const entrypoint = `/zones/${zoneId}/rulesets/phases/${PHASE}/entrypoint`;
    const fragments = fc.constantFrom(
      "http.host",
      "cf.tls_client_auth.cert_verified",
      " eq ",
      " in ",
      ' "x"',
      "{",
      "}",
      "(",
      ")",
      " and ",
      "not ",
      'matches "(a+)+$"',
      "10.0.0.0/8",
      "lower(",
      '"',
      "\\",
    );
    const expression = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fragments, { maxLength: 12 }).map((parts) => parts.join("")),
    );
    const leaf = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null));
    const rule = fc.record(
      {
        id: fc.oneof(fc.constant("ab".repeat(16)), leaf),
        expression: fc.oneof(expression, leaf),
        action: fc.oneof(fc.constantFrom("block", "log", "skip", "drop", "allow"), leaf),
        enabled: fc.oneof(fc.boolean(), leaf),
        action_parameters: fc.oneof(
          fc.record({ response: fc.record({ status_code: fc.integer({ min: 100, max: 600 }) }) }),
          fc.record({ ruleset: fc.constantFrom("current", "other") }),
          leaf,
        ),
        actoin: leaf,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(fc.record({ rules: fc.array(rule, { maxLength: 4 }) }), leaf, fc.array(leaf));
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = (await h.call("GET", entrypoint)).result;
        const reply = await h.call("PUT", entrypoint, { raw: JSON.stringify(payload) });
        assert.ok(
          reply.status === 200 || (reply.status >= 400 && reply.status < 500),
          `${JSON.stringify(payload)} → ${reply.status} ${JSON.stringify(reply.body)}`,
        );
        if (reply.status !== 200) {
          assert.equal(reply.body.success, false);
          assert.equal(typeof reply.body.errors[0]?.code, "number");
          assert.deepEqual((await h.call("GET", entrypoint)).result, before);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("rules/check and rules/test", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test("check says whether an expression compiles, and where it does not", async () => {
    const good = await h.call("POST", "/rules/check", { body: { expression: API_RULE } });
    assertOk(good);
    assert.deepEqual(good.result, { valid: true });
    const bad = await h.call("POST", "/rules/check", { body: { expression: 'http.host eq "a" and' } });
    assertOk(bad);
    assert.equal(bad.result.valid, false);
    assert.equal(typeof bad.result.error.message, "string");
    assert.ok(bad.result.error.offset >= 16, JSON.stringify(bad.result));
    assertError(await h.call("POST", "/rules/check", { body: { expression: API_RULE }, token: null }), 401);
  });

  test("test evaluates the documented Cloudflare examples against described requests", async () => {
    const matches = async (expression: string, request: Record<string, unknown>) => {
      const reply = await h.call("POST", "/rules/test", { body: { expression, request } });
      assertOk(reply);
      return reply.result.matches as boolean;
    };
    assert.equal(await matches(API_RULE, { host: "API.example.test:8443" }), true);
    assert.equal(
      await matches(API_RULE, { host: "api.example.test", tls_client_auth: { cert_verified: true } }),
      false,
    );
    assert.equal(await matches(API_RULE, { host: "www.example.test" }), false);
    assert.equal(await matches(ADMIN_RULE, { uri: "/admin?x=1" }), true);
    assert.equal(
      await matches(ADMIN_RULE, { uri: "/admin", tls_client_auth: { cert_verified: true } }),
      false,
    );
    assert.equal(
      await matches(ADMIN_RULE, {
        uri: "/admin",
        tls_client_auth: { cert_verified: true, cert_revoked: true },
      }),
      true,
    );
    assert.equal(await matches(ADMIN_RULE, { uri: "/public" }), false);
    assert.equal(
      await matches(SKI_RULE, { tls_client_auth: { cert_verified: true, cert_issuer_ski: "A1B2" } }),
      false,
    );
    assert.equal(
      await matches(SKI_RULE, { tls_client_auth: { cert_verified: true, cert_issuer_ski: "FFFF" } }),
      true,
    );
    // Derived fields: presented and the Azion-style status.
    assert.equal(await matches('mtls.verification_status eq "MISSING_CLIENT_CERTIFICATE"', {}), true);
    assert.equal(
      await matches('mtls.verification_status eq "SUCCESS"', { tls_client_auth: { cert_verified: true } }),
      true,
    );
    assert.equal(
      await matches("cf.tls_client_auth.cert_presented", { tls_client_auth: { cert_serial: "0A" } }),
      true,
    );
    assert.equal(await matches("ip.src in {10.0.0.0/8}", { ip: "10.1.2.3" }), true);
    assert.equal(
      await matches('http.request.headers["x-api-key"] eq "k"', { headers: { "X-Api-Key": "k" } }),
      true,
    );
    assert.equal(await matches('http.request.method eq "POST"', { method: "post" }), true);

    const invalid = await h.call("POST", "/rules/test", {
      body: { expression: "http.hots eq 1", request: {} },
    });
    assertError(invalid, 400, /^body\.expression: invalid expression at character 0: /);
    assert.equal(invalid.body.errors[0]?.code, 20100);
    assertError(
      await h.call("POST", "/rules/test", { body: { expression: API_RULE, request: { ip: "nope" } } }),
      400,
      /^body\.request\.ip: "nope" is not an IP address/,
    );
    assertError(
      await h.call("POST", "/rules/test", {
        body: { expression: API_RULE, request: { tls_client_auth: { cert_verfied: true } } },
      }),
      400,
      /cert_verfied/,
    );
  });
});
