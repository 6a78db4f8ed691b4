/**
 * The firewall stage on its own: rule order and actions, what the rules see of a request, compiled once
 * per rules list. (End to end with curl and the real binary: test/e2e/rules.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import type { FirewallRule } from "../../src/config/types.ts";
import type { RequestAuth } from "../../src/edge/client-auth.ts";
import { compileFirewall, FirewallStage } from "../../src/edge/firewall.ts";
import { createEdgeMetrics } from "../../src/edge/metrics.ts";
import type { EdgeRequest } from "../../src/edge/proxy.ts";
import type { EdgeEventInput } from "../../src/events/types.ts";
import type { HostRuntime } from "../../src/snapshot/snapshot.ts";

const NO_CERT: RequestAuth = {
  presented: false,
  verified: false,
  revoked: false,
  verify: "NONE",
  cert: null,
  failure: { code: "no_client_certificate", text: "no required SSL certificate was sent" },
};

function rule(
  id: string,
  action: FirewallRule["action"],
  expression: string,
  extra: Partial<FirewallRule> = {},
) {
  return { id, action, expression, description: "", enabled: true, ...extra };
}

function request(url: string, headers: Record<string, string> = {}, remoteAddress = "::ffff:192.0.2.7") {
  return {
    httpVersionMajor: 1,
    method: "GET",
    url,
    headers: { host: "API.Example.Test:8443", ...headers },
    socket: { remoteAddress },
  } as unknown as EdgeRequest;
}

function setup(rules: FirewallRule[]) {
  const events: EdgeEventInput[] = [];
  const metrics = createEdgeMetrics();
  const stage = new FirewallStage(
    { record: (event) => events.push(event) },
    metrics,
    pino({ level: "silent" }),
  );
  const host = {
    name: "api.example.test",
    requestsCert: true,
    firewall: compileFirewall(rules, "api.example.test"),
  };
  const decision = {
    kind: "forward" as const,
    host: host as unknown as HostRuntime,
    mode: "permissive" as const,
    auth: NO_CERT,
  };
  return { stage, decision, events, metrics };
}

describe("firewall stage", () => {
  test("log goes on, skip stops the rules, block answers; disabled rules never run", () => {
    const { stage, decision, events } = setup([
      rule("never", "block", "ssl", { enabled: false }),
      rule("watch", "log", 'starts_with(http.request.uri.path, "/a")'),
      rule("health", "skip", 'http.request.uri.path eq "/a/health"'),
      rule("deny", "block", "not cf.tls_client_auth.cert_verified"),
    ]);
    const blocked = stage.verdict(request("/a/b?x=1", { accept: "application/json" }), decision);
    assert.equal(blocked?.answer?.status, 403);
    assert.equal(blocked?.answer?.headers["x-portcullis-rule"], "deny");
    assert.equal(JSON.parse(blocked?.answer?.body ?? "").error.reason, "rule");
    assert.deepEqual(
      events.map((e) => [e.action, e.ruleId, e.status, e.path]),
      [
        ["log", "watch", 0, "/a/b?x=1"],
        ["block", "deny", 403, "/a/b?x=1"],
      ],
    );
    assert.equal(stage.verdict(request("/a/health"), decision), undefined, "skipped");
    assert.equal(events.at(-1)?.ruleId, "watch", "skip records no event");
  });

  test("what the rules see: host without port in lower case, path, query, IPv4 address, status", () => {
    const { stage, decision } = setup([
      rule(
        "all",
        "drop",
        'http.host eq "api.example.test" and http.request.uri.path eq "/p" and http.request.uri.query eq "q=1" and ip.src eq 192.0.2.7 and mtls.verification_status eq "MISSING_CLIENT_CERTIFICATE" and not cf.tls_client_auth.cert_presented and http.request.headers["x-k"][0] eq "v"',
      ),
    ]);
    assert.deepEqual(stage.verdict(request("/p?q=1", { "x-k": "v" }), decision), { answer: null });
    assert.equal(stage.verdict(request("/p?q=2", { "x-k": "v" }), decision), undefined);
  });

  test("a custom response is made once; a rules list shared by hosts compiles once", () => {
    const rules = [
      rule("teapot", "block", "ssl", { response: { status: 418, content: "no", contentType: "text/plain" } }),
    ];
    const { stage, decision } = setup(rules);
    const first = stage.verdict(request("/"), decision)?.answer;
    assert.deepEqual(first, {
      status: 418,
      headers: {
        "content-type": "text/plain",
        "cache-control": "no-store",
        "x-portcullis-reason": "rule",
        "x-portcullis-rule": "teapot",
      },
      body: "no",
    });
    assert.equal(stage.verdict(request("/"), decision)?.answer, first);
    assert.equal(compileFirewall(rules), compileFirewall(rules));
    assert.equal(compileFirewall([rule("off", "block", "ssl", { enabled: false })]), undefined);
    assert.equal(compileFirewall([]), undefined);
  });

  test("an expression that no longer compiles refuses the Snapshot, naming host and rule", () => {
    assert.throws(
      () => compileFirewall([rule("bad", "block", "http.hots eq 1")], "api.example.test"),
      /^Error: host api\.example\.test: firewall rule bad: Filter parsing error/,
    );
  });

  test("matches are counted per host, rule and action", async () => {
    const { stage, decision, metrics } = setup([rule("watch", "log", "ssl"), rule("stop", "skip", "ssl")]);
    stage.verdict(request("/"), decision);
    stage.verdict(request("/"), decision);
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /portcullis_firewall_rule_matches_total\{host="api.example.test",rule="watch",action="log"\} 2/,
    );
    assert.match(
      text,
      /portcullis_firewall_rule_matches_total\{host="api.example.test",rule="stop",action="skip"\} 2/,
    );
  });
});
