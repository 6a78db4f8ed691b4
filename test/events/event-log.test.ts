/** The EventLog: ring buffer, ids, filters, replay, subscribers, and the batcher that feeds it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventBatcher } from "../../src/events/batch.ts";
import { EventLog } from "../../src/events/log.ts";
import type { EventBatch } from "../../src/events/types.ts";
import { input } from "./helpers.ts";

test("ids are monotonic from 1; the ring keeps the newest `capacity` events", () => {
  const log = new EventLog({ capacity: 3 });
  assert.equal(log.lastId, 0);
  assert.deepEqual(log.list(), []);
  for (let i = 0; i < 5; i++) log.record(input({ path: `/${i}` }));
  assert.equal(log.lastId, 5);
  assert.deepEqual(
    log.list().map((e) => [e.id, e.path]),
    [
      [5, "/4"],
      [4, "/3"],
      [3, "/2"],
    ],
  );
  assert.deepEqual(
    log.since(0).map((e) => e.id),
    [3, 4, 5],
  );
  assert.deepEqual(
    log.since(4).map((e) => e.id),
    [5],
  );
  assert.deepEqual(log.since(5), []);
});

test("time: when it was recorded (atMs), unless the event names its own", () => {
  const log = new EventLog();
  log.record(input(), Date.UTC(2026, 0, 2, 3, 4, 5));
  log.record(input({ time: "2026-02-03T04:05:06.000Z" }), Date.UTC(2026, 0, 2, 3, 4, 5));
  const [second, first] = log.list();
  assert.equal(first?.time, "2026-01-02T03:04:05.000Z");
  assert.equal(second?.time, "2026-02-03T04:05:06.000Z");
});

test("filters: host, action, reason, since_id, visibility and limit (newest first)", () => {
  const log = new EventLog();
  log.record(input({ host: "a.test" }));
  log.record(input({ host: "b.test", action: "deny", status: 403, reason: "no_client_certificate" }));
  log.record(input({ host: "a.test", action: "deny", status: 403, reason: "certificate_revoked" }));
  log.record(input({ host: "a.test", action: "log", reason: "rule", ruleId: "r1" }));
  const ids = (events: { id: number }[]) => events.map((e) => e.id);
  assert.deepEqual(ids(log.list({ host: "a.test" })), [4, 3, 1]);
  assert.deepEqual(ids(log.list({ action: "deny" })), [3, 2]);
  assert.deepEqual(ids(log.list({ reason: "certificate_revoked" })), [3]);
  assert.deepEqual(ids(log.list({ action: "deny", host: "b.test" })), [2]);
  assert.deepEqual(ids(log.list({ sinceId: 2 })), [4, 3]);
  assert.deepEqual(ids(log.list({}, 2)), [4, 3]);
  assert.deepEqual(ids(log.list({}, 0)), []);
  assert.deepEqual(ids(log.list({ visible: (host) => host === "b.test" })), [2]);
  assert.deepEqual(ids(log.since(1, { action: "deny" })), [2, 3]);
  assert.equal(log.list({ action: "log" })[0]?.ruleId, "r1");
  assert.equal(log.list({}, 5000).length, 4, "limit is capped, not an error");
});

test("a filter that matches nothing stops at the ring's end (no scan past it)", () => {
  const log = new EventLog({ capacity: 1000 });
  for (let i = 0; i < 5000; i++) log.record(input());
  const started = performance.now();
  assert.deepEqual(log.list({ host: "none.test" }), []);
  assert.equal(log.since(0).length, 1000);
  assert.ok(performance.now() - started < 1000);
});

test("subscribers get each batch once, in id order; unsubscribing stops them; a throwing one harms none", () => {
  const log = new EventLog();
  const seen: number[][] = [];
  log.subscribe(() => {
    throw new Error("broken subscriber");
  });
  const stop = log.subscribe((events) => seen.push(events.map((e) => e.id)));
  assert.equal(log.subscribers, 2);
  log.add({ events: [input(), input()], times: [Date.now(), Date.now()] });
  log.record(input());
  stop();
  log.record(input());
  assert.deepEqual(seen, [[1, 2], [3]]);
  assert.equal(log.subscribers, 1);
  assert.equal(log.lastId, 4);
});

test("the batcher delivers at maxEvents at once, the rest after its interval, and on flush", async () => {
  const batches: EventBatch[] = [];
  const batcher = new EventBatcher((batch) => batches.push(batch), { maxEvents: 3, intervalMs: 20 });
  for (let i = 0; i < 4; i++) batcher.record(input({ path: `/${i}` }), 1000 + i);
  assert.equal(batches.length, 1, "a full batch goes at once");
  assert.deepEqual(
    batches[0]?.events.map((e) => e.path),
    ["/0", "/1", "/2"],
  );
  assert.deepEqual(batches[0]?.times, [1000, 1001, 1002]);
  const since = Date.now();
  while (batches.length < 2 && Date.now() - since < 5000) await new Promise((r) => setTimeout(r, 10));
  assert.equal(batches.length, 2, "the rest after the interval");
  assert.deepEqual(
    batches[1]?.events.map((e) => e.path),
    ["/3"],
  );
  batcher.record(input({ path: "/4" }));
  batcher.flush();
  assert.equal(batches.length, 3);
  batcher.flush();
  assert.equal(batches.length, 3, "nothing pending: nothing delivered");
});

test("a delivery that throws (closed IPC channel) loses the batch, never the caller", () => {
  const batcher = new EventBatcher(() => {
    throw new Error("channel closed");
  });
  batcher.record(input());
  assert.doesNotThrow(() => batcher.flush());
});

test("batches into the log keep each event's own time", () => {
  const log = new EventLog();
  const batcher = new EventBatcher((batch) => log.add(batch));
  batcher.record(input(), Date.UTC(2026, 5, 1, 0, 0, 0));
  batcher.record(input(), Date.UTC(2026, 5, 1, 0, 0, 1));
  assert.deepEqual(log.list(), []);
  batcher.flush();
  assert.deepEqual(
    log.since(0).map((e) => e.time),
    ["2026-06-01T00:00:00.000Z", "2026-06-01T00:00:01.000Z"],
  );
});
