import assert from "node:assert/strict";
import { test } from "node:test";
import { refreshDelay } from "../../src/revocation/schedule.ts";

const HOUR = 3_600_000;
const MIN = 60_000;
const now = Date.parse("2030-01-01T00:00:00Z");
const delay = (nextUpdateMs: number | null, failures = 0, intervalMs = HOUR) =>
  refreshDelay({ intervalMs, nowMs: now, nextUpdateMs, failures }, 0.5); // 0.5: no jitter

test("the refresh interval when nextUpdate is far or absent", () => {
  assert.equal(delay(null), HOUR);
  assert.equal(delay(now + 7 * 24 * HOUR), HOUR);
});

test("a minute before nextUpdate when that is sooner", () => {
  assert.equal(delay(now + 10 * MIN), 9 * MIN);
  assert.equal(delay(now + 2 * MIN), MIN);
});

test("past (or almost past) nextUpdate: no faster than every 30 s, or the interval if shorter", () => {
  assert.equal(delay(now + 30_000), 30_000);
  assert.equal(delay(now - HOUR), 30_000);
  assert.equal(delay(now - HOUR, 0, 5000), 5000);
});

test("after failures: 10 s doubling, up to the interval, never later than the nextUpdate rule", () => {
  assert.equal(delay(null, 1), 10_000);
  assert.equal(delay(null, 2), 20_000);
  assert.equal(delay(null, 5), 160_000);
  assert.equal(delay(null, 12), HOUR);
  assert.equal(delay(null, 1000), HOUR);
  assert.equal(delay(null, 3, 200), 200, "a short interval caps the backoff");
});

test("jitter spreads by ±10%", () => {
  const state = { intervalMs: HOUR, nowMs: now, nextUpdateMs: null, failures: 0 };
  assert.equal(refreshDelay(state, 0), 3_240_000);
  assert.equal(refreshDelay(state, 1), 3_960_000);
  for (let i = 0; i < 100; i++) {
    const ms = refreshDelay(state);
    assert.ok(ms >= 0.9 * HOUR && ms <= 1.1 * HOUR);
  }
});
