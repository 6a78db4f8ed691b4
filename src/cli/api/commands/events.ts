/**
 * `portcullis events tail [--follow] | analytics`: the edge's decisions (forward, deny, block, Access...)
 * with the client certificate's identity, from the events API and its live stream (text/event-stream).
 */
import { EDGE_EVENT_ACTIONS, type EdgeEvent } from "../../../events/types.ts";
import { type ApiClient, ApiFailure } from "../client.ts";
import { CliError } from "../errors.ts";
import { command, group } from "../framework.ts";
import type { Output } from "../output.ts";
import { resolveAccount } from "../resolve.ts";

const filterFlags = {
  host: { type: "string", placeholder: "HOST", description: "only this host name" },
  action: { type: "string", choices: EDGE_EVENT_ACTIONS, description: "only this action" },
  reason: { type: "string", placeholder: "CODE", description: "only this reason (e.g. cert_missing)" },
} as const;

/** One line per event: time, status, action(reason), method host path, client. */
export function eventLine(event: EdgeEvent): string {
  const what = event.reason ? `${event.action}(${event.reason})` : event.action;
  const client = !event.mtls
    ? ""
    : event.mtls.presented
      ? ` cert=${event.mtls.subject ?? "?"} serial=${event.mtls.serial ?? "?"} ${event.mtls.verification}`
      : ` no-cert ${event.mtls.verification}`;
  return `${event.time} ${event.status || "---"} ${what} ${event.method} ${event.host}${event.path} from ${event.remote}${client}`;
}

function printEvent(out: Output, event: EdgeEvent): void {
  process.stdout.write(out.json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
}

/** The SSE stream from `sinceId`, printing each event until the stream ends or the process is stopped. */
/** Thrown when an open stream ends or breaks: `follow` reconnects after it. */
class StreamLost extends Error {}

/** Reads one connection of the SSE stream, printing each event; returns only by throwing. */
async function readStream(
  client: ApiClient,
  url: string,
  out: Output,
  on: { open(): void; seen(id: number): void },
): Promise<never> {
  const response = await client.fetch(url, { headers: { accept: "text/event-stream" }, timeoutMs: 0 });
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => "");
    let errors = [];
    try {
      errors = JSON.parse(text).errors ?? [];
    } catch {}
    throw new ApiFailure(response.status, errors);
  }
  on.open();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (data) {
          const event = JSON.parse(data) as EdgeEvent;
          printEvent(out, event);
          on.seen(event.id);
        }
        end = buffer.indexOf("\n\n");
      }
    }
  } catch (err) {
    throw new StreamLost((err as Error).message);
  }
  throw new StreamLost("the stream ended");
}

/**
 * The live tail: prints events until Ctrl-C. A stream that breaks off (the API restarted) is reopened
 * every 2 s from the last event seen, with one line on stderr each way; the first connection's failure
 * is an error (the API is unreachable, or refuses).
 */
async function follow(
  client: ApiClient,
  path: string,
  filter: Record<string, string>,
  sinceId: number | undefined,
  out: Output,
): Promise<never> {
  let last = sinceId;
  let opened = false;
  let lost = false;
  for (;;) {
    const query = new URLSearchParams(filter);
    if (last !== undefined) query.set("since_id", String(last));
    try {
      await readStream(client, `/client/v4${path}/stream?${query}`, out, {
        open() {
          if (lost) out.warn(`reconnected to ${client.root}`);
          opened = true;
          lost = false;
        },
        seen(id) {
          last = id;
        },
      });
    } catch (err) {
      // Before the first connection, any failure is the answer; after it, a restart is waited out.
      if (!opened || !(err instanceof StreamLost || err instanceof CliError)) throw err;
      if (!lost) out.warn(`the event stream from ${client.root} broke off; reconnecting every 2 s`);
      lost = true;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

const tail = command({
  name: "tail",
  summary: "Show the latest edge events (oldest first); --follow keeps printing new ones",
  description:
    "Prints the last --limit events the edge recorded (each: time, status, action(reason), request, client\n" +
    "certificate), then with --follow streams new ones as they happen until Ctrl-C. --json prints one JSON\n" +
    "event per line. Events are kept in memory by each `portcullis up` node.",
  flags: {
    ...filterFlags,
    limit: { type: "integer", placeholder: "N", defaultText: "20", description: "how many past events" },
    follow: { type: "boolean", short: "f", description: "keep printing new events" },
  },
  examples: [
    "portcullis events tail --follow --host api.example.test",
    "portcullis events tail --action deny --json",
  ],
  async run({ flags, out, api }) {
    const client = await api();
    const path = `/accounts/${(await resolveAccount(client)).id}/events`;
    const filter: Record<string, string> = {};
    if (flags.host !== undefined) filter.host = flags.host;
    if (flags.action !== undefined) filter.action = flags.action;
    if (flags.reason !== undefined) filter.reason = flags.reason;
    const limit = flags.limit ?? 20;
    let lastId: number | undefined;
    if (limit > 0) {
      const answer = await client.envelope("GET", path, { query: { ...filter, limit } });
      const events = (answer.result as EdgeEvent[]).slice().reverse();
      for (const event of events) printEvent(out, event);
      lastId = (answer.result_info as unknown as { last_id?: number } | undefined)?.last_id;
    }
    if (!flags.follow) return;
    await follow(client, path, filter, lastId, out);
  },
});

const analytics = command({
  name: "analytics",
  summary: "mTLS outcomes over the last minutes: verified, missing, invalid, revoked; top reasons and hosts",
  flags: { minutes: { type: "integer", placeholder: "N", defaultText: "60", description: "the window" } },
  async run({ flags, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const result = await client.get<{
      minutes: number;
      totals: Record<string, number>;
      top_reasons: { reason: string; count: number }[];
      top_hosts: { host: string; requests: number; failures: number }[];
    }>(`/accounts/${account.id}/analytics/mtls`, { minutes: flags.minutes });
    out.result(result, () => {
      const totals = Object.entries(result.totals)
        .map(([key, value]) => `${key} ${value}`)
        .join(", ");
      out.say(`Last ${result.minutes} minutes: ${totals}`);
      if (result.top_reasons.length > 0) {
        out.say(`Top reasons: ${result.top_reasons.map((r) => `${r.reason} ${r.count}`).join(", ")}`);
      }
      if (result.top_hosts.length > 0) {
        out.say(
          `Top hosts: ${result.top_hosts.map((h) => `${h.host} ${h.requests} (${h.failures} failed)`).join(", ")}`,
        );
      }
    });
  },
});

export const eventsGroup = group({
  name: "events",
  summary: "The edge's decisions as they happen (tail, --follow) and mTLS analytics",
  commands: [tail, analytics],
});
