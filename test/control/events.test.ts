/**
 * The events API over real HTTP, fed by an EventLog as `portcullis up` wires it: list and filters, the
 * account's visibility, the analytics, the live tail (replay, live, heartbeats, a client that goes away,
 * a revoked token, the API closing), and the 503 of an API that runs without an edge.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EventLog } from "../../src/events/log.ts";
import type { EdgeEvent } from "../../src/events/types.ts";
import { input, missingInput } from "../events/helpers.ts";
import { assertError, assertOk, createAccountAndZone, type Harness, startHarness } from "./helpers.ts";

const event = input;
const missing = missingInput;

/** An open text/event-stream: the messages so far (data parsed), the comments, and its end. */
class Tail {
  readonly events: EdgeEvent[] = [];
  readonly ids: string[] = [];
  comments: string[] = [];
  readonly status: number;
  readonly contentType: string | null;
  ended = false;
  readonly #abort: AbortController;

  static async open(url: string, headers: Record<string, string>): Promise<Tail> {
    const abort = new AbortController();
    const res = await fetch(url, { headers, signal: abort.signal });
    return new Tail(res, abort);
  }

  constructor(res: Response, abort: AbortController) {
    this.status = res.status;
    this.contentType = res.headers.get("content-type");
    this.#abort = abort;
    if (res.status !== 200) {
      this.ended = true;
      return;
    }
    void this.#read(res.body as ReadableStream<Uint8Array>);
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end = buffered.indexOf("\n\n");
        while (end !== -1) {
          for (const line of buffered.slice(0, end).split("\n")) {
            if (line.startsWith("data: ")) this.events.push(JSON.parse(line.slice(6)) as EdgeEvent);
            else if (line.startsWith("id: ")) this.ids.push(line.slice(4));
            else if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
          }
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf("\n\n");
        }
      }
    } catch {
      // aborted by us
    }
    this.ended = true;
  }

  async until(condition: () => boolean, what: string): Promise<void> {
    const since = Date.now();
    while (!condition()) {
      assert.ok(Date.now() - since < 10_000, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.#abort.abort();
  }
}

describe("events API", () => {
  let h: Harness;
  let log: EventLog;
  let accountId: string;
  let otherAccountId: string;
  const base = () => `/accounts/${accountId}`;

  before(async () => {
    log = new EventLog({ capacity: 50, heartbeatMs: 50 });
    h = await startHarness({ events: log });
    ({ accountId } = await createAccountAndZone(h, "example.test"));
    ({ accountId: otherAccountId } = await createAccountAndZone(h, "other.test"));
  });
  after(() => h.close());

  test("lists the account's events newest first, with filters and limit", async () => {
    log.record(event());
    log.record(missing());
    log.record(event({ host: "www.example.test", mtls: null }));
    log.record(missing("app.other.test"));
    log.record(
      event({ host: "stranger.test", action: "reject", status: 421, reason: "unknown_host", mtls: null }),
    );
    log.record(event({ action: "log", reason: "rule", ruleId: "rule-1" }));

    const all = await h.call("GET", `${base()}/events`);
    assertOk(all);
    const hosts = (all.result as EdgeEvent[]).map((e) => [e.id, e.host, e.action]);
    // The admin token: this account's hosts, and names in no zone at all; never the other account's.
    assert.deepEqual(hosts, [
      [6, "api.example.test", "log"],
      [5, "stranger.test", "reject"],
      [3, "www.example.test", "forward"],
      [2, "api.example.test", "deny"],
      [1, "api.example.test", "forward"],
    ]);
    assert.deepEqual(all.body.result_info, { count: 5, last_id: 6, capacity: 50 });
    const first = (all.result as EdgeEvent[])[4] as EdgeEvent;
    assert.deepEqual(Object.keys(first), [
      "id",
      "time",
      "host",
      "method",
      "path",
      "remote",
      "status",
      "action",
      "reason",
      "ruleId",
      "mtls",
    ]);
    assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const ids = async (query: string) =>
      ((await h.call("GET", `${base()}/events?${query}`)).result as EdgeEvent[]).map((e) => e.id);
    assert.deepEqual(await ids("action=deny"), [2]);
    assert.deepEqual(await ids("host=API.example.test"), [6, 2, 1]);
    assert.deepEqual(await ids("reason=rule"), [6]);
    assert.deepEqual(await ids("since_id=3"), [6, 5]);
    assert.deepEqual(await ids("limit=2"), [6, 5]);
    assert.deepEqual(await ids("host=app.other.test"), []);
    const other = await h.call("GET", `/accounts/${otherAccountId}/events`);
    assert.deepEqual(
      (other.result as EdgeEvent[]).map((e) => e.host),
      ["stranger.test", "app.other.test"],
    );
  });

  test("an account-scoped token sees only its account's hosts, and no other account", async () => {
    const made = await h.call("POST", "/user/tokens", {
      body: { name: "reader", scopes: [{ kind: "account", account_id: accountId, access: "read" }] },
    });
    assertOk(made);
    const token = made.result.value as string;
    const own = await h.call("GET", `${base()}/events`, { token });
    assertOk(own);
    assert.ok((own.result as EdgeEvent[]).length > 0);
    assert.ok((own.result as EdgeEvent[]).every((e) => e.host.endsWith("example.test")));
    assertError(await h.call("GET", `/accounts/${otherAccountId}/events`, { token }), 403);
    assertError(await h.call("GET", `/accounts/${otherAccountId}/analytics/mtls`, { token }), 403);
    const analytics = await h.call("GET", `${base()}/analytics/mtls`, { token });
    assertOk(analytics);
    assert.ok(!analytics.result.top_hosts.some((x: { host: string }) => x.host === "stranger.test"));
  });

  test("bad queries, no token and unknown accounts are v4 errors", async () => {
    assertError(await h.call("GET", `${base()}/events`, { token: null }), 401);
    assertError(await h.call("GET", `${base()}/events?action=nope`), 400, /action/);
    assertError(await h.call("GET", `${base()}/events?limit=0`), 400, /limit/);
    assertError(await h.call("GET", `${base()}/events?limit=1001`), 400, /limit/);
    assertError(await h.call("GET", `${base()}/events?since_id=-1`), 400, /since_id/);
    assertError(await h.call("GET", `${base()}/events?colour=red`), 400);
    assertError(await h.call("GET", `${base()}/analytics/mtls?minutes=1441`), 400, /minutes/);
    assertError(await h.call("GET", `${base()}/analytics/mtls?minutes=0`), 400, /minutes/);
    assertError(await h.call("GET", `/accounts/${"f".repeat(32)}/events`), 404);
    assertError(await h.call("GET", `${base()}/events/stream`, { token: null }), 401);
    assertError(
      await h.call("GET", `${base()}/events/stream`, { headers: { "last-event-id": "abc" } }),
      400,
      /last-event-id/,
    );
  });

  test("analytics: per-minute counts, top reasons and hosts of the account", async () => {
    const reply = await h.call("GET", `${base()}/analytics/mtls?minutes=10`);
    assertOk(reply);
    const result = reply.result;
    assert.equal(result.minutes, 10);
    assert.equal(result.buckets.length, 10);
    assert.deepEqual(result.totals, {
      requests: 4,
      verified: 1,
      missing: 1,
      invalid: 0,
      revoked: 0,
      public: 1,
      rejected: 1,
    });
    assert.deepEqual(result.top_reasons, [
      { reason: "no_client_certificate", count: 1 },
      { reason: "unknown_host", count: 1 },
    ]);
    assert.deepEqual(result.top_hosts[0], { host: "api.example.test", requests: 2, failures: 1 });
    const byDefault = await h.call("GET", `${base()}/analytics/mtls`);
    assert.equal(byDefault.result.minutes, 60);
  });

  test("the live tail: replay after Last-Event-ID, then live events, heartbeats; unsubscribes when the client goes away", async () => {
    const url = `${h.url}/client/v4${base()}/events/stream?action=deny`;
    const lastId = log.lastId;
    const tail = await Tail.open(url, { authorization: `Bearer ${h.adminToken}`, "last-event-id": "1" });
    assert.equal(tail.status, 200);
    assert.match(tail.contentType ?? "", /^text\/event-stream/);
    await tail.until(() => tail.events.length >= 1, "the replay");
    assert.deepEqual(
      tail.events.map((e) => e.id),
      [2],
    );
    assert.equal(log.subscribers, 1);
    log.record(event());
    log.record(missing());
    log.record(missing("app.other.test"));
    await tail.until(() => tail.events.length >= 2, "the live event");
    assert.deepEqual(
      tail.events.map((e) => e.id),
      [2, lastId + 2],
    );
    assert.deepEqual(tail.ids, ["2", String(lastId + 2)]);
    await tail.until(() => tail.comments.includes("heartbeat"), "a heartbeat");
    tail.close();
    await tail.until(() => log.subscribers === 0, "the server to notice the client left");
    // The API still answers.
    assertOk(await h.call("GET", `${base()}/events?limit=1`));
  });

  test("since_id=0 replays everything the ring holds; without it only what comes next", async () => {
    const headers = { authorization: `Bearer ${h.adminToken}` };
    const everything = await Tail.open(`${h.url}/client/v4${base()}/events/stream?since_id=0`, headers);
    const next = await Tail.open(`${h.url}/client/v4${base()}/events/stream`, headers);
    const visible = (await h.call("GET", `${base()}/events?limit=1000`)).result as EdgeEvent[];
    await everything.until(() => everything.events.length >= visible.length, "the whole replay");
    assert.deepEqual(
      everything.events.map((e) => e.id),
      visible.map((e) => e.id).reverse(),
    );
    await next.until(() => next.comments.some((c) => c.startsWith("last_id")), "the stream to open");
    assert.equal(next.events.length, 0);
    log.record(event({ path: "/next" }));
    await next.until(() => next.events.length === 1, "the next event");
    assert.equal(next.events[0]?.path, "/next");
    everything.close();
    next.close();
    await next.until(() => log.subscribers === 0, "both gone");
  });

  test("a revoked token's tail ends at the next heartbeat", async () => {
    const made = await h.call("POST", "/user/tokens", {
      body: { name: "tail", scopes: [{ kind: "account", account_id: accountId, access: "read" }] },
    });
    const tail = await Tail.open(`${h.url}/client/v4${base()}/events/stream`, {
      authorization: `Bearer ${made.result.value}`,
    });
    assert.equal(tail.status, 200);
    assertOk(await h.call("DELETE", `/user/tokens/${made.result.id}`));
    await tail.until(() => tail.ended, "the stream to end");
    await tail.until(() => log.subscribers === 0, "the subscriber to go");
  });
});

test("an open tail does not keep the API from closing", async () => {
  const log = new EventLog();
  const h = await startHarness({ events: log });
  const { accountId } = await createAccountAndZone(h);
  const tail = await Tail.open(`${h.url}/client/v4/accounts/${accountId}/events/stream`, {
    authorization: `Bearer ${h.adminToken}`,
  });
  assert.equal(tail.status, 200);
  await tail.until(() => log.subscribers === 1, "the subscription");
  await h.close();
  await tail.until(() => tail.ended, "the stream to end");
  assert.equal(log.subscribers, 0);
});

test("an API without an edge answers 503 with a v4 error that says why", async () => {
  const h = await startHarness();
  try {
    const { accountId } = await createAccountAndZone(h);
    for (const path of ["events", "events/stream", "analytics/mtls"]) {
      const reply = await h.call("GET", `/accounts/${accountId}/${path}`);
      assertError(reply, 503, /without an edge/);
      assert.equal(reply.body.errors[0]?.code, 1006);
    }
  } finally {
    await h.close();
  }
});
