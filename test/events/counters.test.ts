/** Per-minute counters: mTLS results, per host, failure reasons, the 24 h window and its edges. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MinuteCounters, mtlsResult, OTHER_HOST } from "../../src/events/counters.ts";
import { EventLog } from "../../src/events/log.ts";
import type { EdgeEventInput } from "../../src/events/types.ts";
import { input } from "./helpers.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const MIN = 60_000;

function mtls(presented: boolean, failure: string | null): EdgeEventInput["mtls"] {
  return {
    presented,
    verification: !presented
      ? "MISSING_CLIENT_CERTIFICATE"
      : failure
        ? "CERTIFICATE_VERIFICATION_ERROR"
        : "SUCCESS",
    failure,
    fingerprint: null,
    serial: null,
    subject: null,
    issuer: null,
  };
}

const verified = () => input({ mtls: mtls(true, null) });
const missing = () =>
  input({
    action: "deny",
    status: 403,
    reason: "no_client_certificate",
    mtls: mtls(false, "no_client_certificate"),
  });
const revoked = () =>
  input({
    action: "deny",
    status: 403,
    reason: "certificate_revoked",
    mtls: mtls(true, "certificate_revoked"),
  });
const expired = () =>
  input({
    action: "deny",
    status: 403,
    reason: "certificate_expired",
    mtls: mtls(true, "certificate_expired"),
  });

test("each request's decision counts once in its mTLS series", () => {
  assert.equal(mtlsResult(verified() as never), "verified");
  assert.equal(mtlsResult(missing() as never), "missing");
  assert.equal(mtlsResult(revoked() as never), "revoked");
  assert.equal(mtlsResult(expired() as never), "invalid");
  assert.equal(mtlsResult({ action: "forward", mtls: null }), "public");
  assert.equal(mtlsResult({ action: "reject", mtls: null }), "rejected");
  assert.equal(mtlsResult({ action: "error", mtls: null }), "rejected");
  // Permissive mode: forwarded with a failure is still an invalid certificate.
  assert.equal(mtlsResult({ action: "forward", mtls: mtls(true, "certificate_untrusted") }), "invalid");
  // Later stages' events are not requests of their own.
  assert.equal(mtlsResult({ action: "block", mtls: mtls(true, null) }), null);
  assert.equal(mtlsResult({ action: "log", mtls: null }), null);
  assert.equal(mtlsResult({ action: "access_deny", mtls: null }), null);
});

test("per-minute buckets, totals, top reasons and hosts over the asked window", () => {
  const log = new EventLog();
  log.record(verified(), T0 - 2 * MIN);
  log.record(verified(), T0 - 2 * MIN + 5000);
  log.record(missing(), T0 - MIN);
  log.record(revoked(), T0);
  log.record(expired(), T0 + 1000);
  log.record(input({ host: "www.example.test", mtls: null }), T0);
  log.record(
    input({ host: "nope.test", action: "reject", status: 421, reason: "unknown_host", mtls: null }),
    T0,
  );
  // A log rule on a verified request: an event with a reason, but no request and no failure.
  log.record(input({ action: "log", reason: "rule", ruleId: "r1" }), T0);
  // A block after a verified forward: a failure of its host, not a second request.
  log.record(input({ action: "block", status: 403, reason: "rule", ruleId: "r2" }), T0);

  const result = log.analytics(3, T0 + 30_000);
  assert.equal(result.minutes, 3);
  assert.equal(result.since, new Date(T0 - 2 * MIN).toISOString());
  assert.equal(result.until, new Date(T0 + MIN).toISOString());
  assert.deepEqual(
    result.buckets.map((b) => [
      b.time,
      b.requests,
      b.verified,
      b.missing,
      b.invalid,
      b.revoked,
      b.public,
      b.rejected,
    ]),
    [
      [new Date(T0 - 2 * MIN).toISOString(), 2, 2, 0, 0, 0, 0, 0],
      [new Date(T0 - MIN).toISOString(), 1, 0, 1, 0, 0, 0, 0],
      [new Date(T0).toISOString(), 4, 0, 0, 1, 1, 1, 1],
    ],
  );
  assert.deepEqual(result.totals, {
    requests: 7,
    verified: 2,
    missing: 1,
    invalid: 1,
    revoked: 1,
    public: 1,
    rejected: 1,
  });
  assert.deepEqual(result.top_reasons, [
    { reason: "certificate_expired", count: 1 },
    { reason: "certificate_revoked", count: 1 },
    { reason: "no_client_certificate", count: 1 },
    { reason: "rule", count: 1 },
    { reason: "unknown_host", count: 1 },
  ]);
  assert.deepEqual(result.top_hosts, [
    { host: "api.example.test", requests: 5, failures: 4 },
    { host: "nope.test", requests: 1, failures: 1 },
    { host: "www.example.test", requests: 1, failures: 0 },
  ]);

  // One minute: only the current one.
  const last = log.analytics(1, T0 + 30_000);
  assert.equal(last.buckets.length, 1);
  assert.equal(last.totals.requests, 4);
  // Only the hosts a caller may see.
  const scoped = log.analytics(3, T0 + 30_000, (host) => host.endsWith("example.test"));
  assert.equal(scoped.totals.requests, 6);
  assert.equal(scoped.totals.rejected, 0);
  assert.ok(!scoped.top_reasons.some((r) => r.reason === "unknown_host"));
  assert.ok(!scoped.top_hosts.some((h) => h.host === "nope.test"));
});

test("the window: minutes past 24 h are forgotten, late events for a recycled minute are dropped", () => {
  const counters = new MinuteCounters({ windowMinutes: 10 });
  const log = new EventLog({ windowMinutes: 10 });
  log.record(verified(), T0);
  assert.equal(log.analytics(10, T0).totals.requests, 1);
  // 10 minutes later the slot is reused: the old count is gone, not added to.
  log.record(missing(), T0 + 10 * MIN);
  const now = log.analytics(10, T0 + 10 * MIN);
  assert.equal(now.totals.requests, 1);
  assert.equal(now.totals.missing, 1);
  // An event for a minute that fell out of the window counts nowhere.
  log.record(verified(), T0);
  assert.equal(log.analytics(10, T0 + 10 * MIN).totals.requests, 1);
  // Asking for more than the window gives the window.
  assert.equal(log.analytics(1000, T0 + 10 * MIN).minutes, 10);
  assert.equal(counters.windowMinutes, 10);
  // Nothing recorded: zeros for every minute, no tops.
  const empty = new EventLog().analytics(60, T0);
  assert.equal(empty.buckets.length, 60);
  assert.equal(empty.totals.requests, 0);
  assert.deepEqual(empty.top_hosts, []);
});

test("distinct hosts per minute are bounded: the rest count under (other)", () => {
  const counters = new MinuteCounters({ maxKeys: 2 });
  const event = (host: string) => ({ ...verified(), host, id: 1, time: "" }) as never;
  for (const host of ["a.test", "b.test", "c.test", "d.test", "a.test"]) counters.count(event(host), T0);
  const result = counters.query(1, T0);
  assert.equal(result.totals.requests, 5);
  assert.deepEqual(
    result.top_hosts.map((h) => [h.host, h.requests]),
    [
      [OTHER_HOST, 2],
      ["a.test", 2],
      ["b.test", 1],
    ],
  );
});

test("counting is O(1): 200,000 events in well under a second", () => {
  const log = new EventLog();
  const event = verified();
  const started = performance.now();
  for (let i = 0; i < 200_000; i++) log.record(event, T0 + i);
  const ms = performance.now() - started;
  assert.equal(log.analytics(60, T0 + 200_000).totals.requests, 200_000);
  assert.ok(ms < 5000, `${ms} ms`);
});
