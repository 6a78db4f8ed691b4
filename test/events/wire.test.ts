/** The IPC form of a batch: one array per field, back to the same events; junk gives none. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deserialize, serialize } from "node:v8";
import { EventLog } from "../../src/events/log.ts";
import { fromWire, toWire, type WireBatch } from "../../src/events/wire.ts";
import { input, missingInput } from "./helpers.ts";

test("a batch survives the trip through V8's serializer unchanged", () => {
  const events = [
    input(),
    input({ host: "www.test", mtls: null, status: 0 }),
    missingInput(),
    input({ action: "block", status: 403, reason: "rule", ruleId: "r1", time: "2026-01-01T00:00:00.000Z" }),
  ];
  const times = [1000, 2000, 3000, 4000];
  const back = fromWire(deserialize(serialize(toWire({ events, times }))) as WireBatch);
  const { time: _time, ...fourth } = events[3] as (typeof events)[number];
  assert.deepEqual(back.events, [events[0], events[1], events[2], fourth]);
  assert.deepEqual(back.times, [1000, 2000, 3000, Date.parse("2026-01-01T00:00:00.000Z")]);
  const log = new EventLog();
  log.add(back);
  assert.deepEqual(
    log.since(0).map((e) => [e.id, e.time, e.mtls?.presented ?? null]),
    [
      [1, new Date(1000).toISOString(), true],
      [2, new Date(2000).toISOString(), null],
      [3, new Date(3000).toISOString(), false],
      [4, "2026-01-01T00:00:00.000Z", true],
    ],
  );
});

test("a malformed batch gives no events instead of throwing", () => {
  assert.deepEqual(fromWire(null as unknown as WireBatch).events, []);
  assert.deepEqual(fromWire({} as WireBatch).events, []);
  assert.deepEqual(fromWire(toWire({ events: [], times: [] })).events, []);
});
