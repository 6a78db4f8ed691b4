/**
 * Edge events end to end: `portcullis up --demo` (one edge worker in process, and two worker processes
 * that batch their events over IPC), curl to the demo host with and without the client certificate, then
 * the events, the mTLS analytics and a live tail (text/event-stream) read back through the API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";
import { ADMIN_TOKEN, apiClient, demoStatus, listen, type Started, startUp, waitFor } from "../helpers/up.ts";

interface EventJson {
  id: number;
  time: string;
  host: string;
  method: string;
  path: string;
  status: number;
  action: string;
  reason: string | null;
  mtls: { presented: boolean; verification: string; failure: string | null; subject: string | null } | null;
}

/** Reads server-sent events from `url` until `until` accepts the events so far; returns them. */
async function readStream(
  url: string,
  headers: Record<string, string>,
  until: (events: EventJson[]) => boolean,
  onOpen: () => Promise<void>,
): Promise<{ events: EventJson[]; ids: string[]; contentType: string | null }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    signal: abort.signal,
  });
  assert.equal(res.status, 200);
  const events: EventJson[] = [];
  const ids: string[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let opened = false;
  try {
    while (!until(events)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffered += decoder.decode(chunk.value, { stream: true });
      let end = buffered.indexOf("\n\n");
      while (end !== -1) {
        const message = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        for (const line of message.split("\n")) {
          if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as EventJson);
          if (line.startsWith("id: ")) ids.push(line.slice(4));
        }
        end = buffered.indexOf("\n\n");
      }
      if (!opened) {
        opened = true;
        await onOpen();
      }
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return { events, ids, contentType: res.headers.get("content-type") };
}

for (const workers of [1, 2]) {
  test(`portcullis up --demo --workers ${workers}: events, mTLS analytics and a live tail through the API`, {
    skip: missingPeer("curl", "openssl"),
  }, async () => {
    const { path: dir, cleanup } = await tempDir();
    let running: Started | undefined;
    try {
      const edgePort = await freePort();
      const apiPort = await freePort();
      running = await startUp([
        "--demo",
        "--data",
        dir,
        "--workers",
        String(workers),
        "--events",
        "500",
        ...listen(edgePort, apiPort),
      ]);
      const demoDir = join(dir, "demo");
      const api = apiClient(apiPort);
      const account = (await api("GET", "/accounts")).result[0] as { id: string };
      const base = `/accounts/${account.id}`;

      assert.equal(await demoStatus(edgePort, demoDir, false), "403");
      assert.equal(await demoStatus(edgePort, demoDir, true), "200");

      // Workers hand their events over in batches (every 100 ms): poll until both are there.
      let listed: EventJson[] = [];
      await waitFor(async () => {
        listed = (await api("GET", `${base}/events?host=app.localhost`)).result as unknown as EventJson[];
        return listed.length >= 2;
      });
      assert.equal(listed.length, 2, JSON.stringify(listed));
      const [forwarded, denied] = listed as [EventJson, EventJson]; // newest first
      assert.ok(forwarded.id > denied.id);
      assert.equal(denied.action, "deny");
      assert.equal(denied.status, 403);
      assert.equal(denied.reason, "no_client_certificate");
      assert.deepEqual(
        { presented: denied.mtls?.presented, verification: denied.mtls?.verification },
        { presented: false, verification: "MISSING_CLIENT_CERTIFICATE" },
      );
      assert.equal(forwarded.action, "forward");
      assert.equal(forwarded.status, 200);
      assert.equal(forwarded.method, "GET");
      assert.equal(forwarded.path, "/");
      assert.equal(forwarded.mtls?.verification, "SUCCESS");
      assert.match(forwarded.mtls?.subject ?? "", /CN=demo-client/);
      assert.ok(Math.abs(Date.parse(forwarded.time) - Date.now()) < 60_000);

      const info = (await api("GET", `${base}/events?limit=1`)) as unknown as {
        result_info: { capacity: number };
      };
      assert.equal(info.result_info.capacity, 500, "--events sets how many the node keeps");

      // Filters.
      const denials = (await api("GET", `${base}/events?action=deny`)).result as unknown as EventJson[];
      assert.deepEqual(
        denials.map((e) => e.id),
        [denied.id],
      );
      const byReason = (await api("GET", `${base}/events?reason=no_client_certificate&limit=1`))
        .result as unknown as EventJson[];
      assert.deepEqual(
        byReason.map((e) => e.id),
        [denied.id],
      );
      const after = (await api("GET", `${base}/events?since_id=${denied.id}`))
        .result as unknown as EventJson[];
      assert.deepEqual(
        after.map((e) => e.id),
        [forwarded.id],
      );
      const bad = await api("GET", `${base}/events?action=explode`);
      assert.equal(bad.status, 400);
      const tooMany = await api("GET", `${base}/events?limit=1001`);
      assert.equal(tooMany.status, 400);

      // Analytics: one verified, one missing, the failure reason and the host on top.
      const analytics = (await api("GET", `${base}/analytics/mtls?minutes=5`)).result as unknown as {
        minutes: number;
        totals: Record<string, number>;
        buckets: { time: string; requests: number }[];
        top_reasons: { reason: string; count: number }[];
        top_hosts: { host: string; requests: number; failures: number }[];
      };
      assert.equal(analytics.minutes, 5);
      assert.equal(analytics.buckets.length, 5);
      assert.equal(analytics.totals.requests, 2);
      assert.equal(analytics.totals.verified, 1);
      assert.equal(analytics.totals.missing, 1);
      assert.deepEqual(analytics.top_reasons, [{ reason: "no_client_certificate", count: 1 }]);
      assert.deepEqual(analytics.top_hosts, [{ host: "app.localhost", requests: 2, failures: 1 }]);

      // Live tail: a request made while the stream is open arrives on it.
      const live = await readStream(
        `http://127.0.0.1:${apiPort}/client/v4${base}/events/stream?host=app.localhost`,
        {},
        (events) => events.length >= 1,
        async () => {
          assert.equal(await demoStatus(edgePort, demoDir, false), "403");
        },
      );
      assert.match(live.contentType ?? "", /^text\/event-stream/);
      assert.equal(live.events[0]?.action, "deny");
      assert.ok((live.events[0]?.id ?? 0) > forwarded.id);
      assert.equal(live.ids[0], String(live.events[0]?.id));

      // Reconnecting with Last-Event-ID replays what came after it.
      const replay = await readStream(
        `http://127.0.0.1:${apiPort}/client/v4${base}/events/stream`,
        { "last-event-id": String(denied.id) },
        (events) => events.length >= 2,
        async () => {},
      );
      assert.deepEqual(
        replay.events.slice(0, 2).map((e) => e.id),
        [forwarded.id, live.events[0]?.id],
      );

      // The API keeps serving after the streams went away (and stops cleanly with none open).
      assert.equal((await api("GET", `${base}/events?limit=1`)).status, 200);
      assert.equal(await running.stop(), 0);
    } finally {
      await running?.stop();
      await cleanup();
    }
  });
}
