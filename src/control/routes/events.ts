/**
 * `/accounts/{account_id}/events` (newest first, filterable), `/events/stream` (a live tail as
 * text/event-stream) and `/analytics/mtls` (per-minute counts, top failure reasons and hosts). They read
 * this node's in-memory EventLog (src/events/): an API without an edge in its process tree answers 503.
 * A token sees the events of its account's hosts (names in the account's zones); an admin token also
 * those of names in no zone (requests the edge rejected for an unknown host).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { MAX_EVENT_LIMIT, matches } from "../../events/log.ts";
import { EDGE_EVENT_ACTIONS, type EdgeEvent } from "../../events/types.ts";
import type { Id, Store } from "../../store/types.ts";
import { authenticate, requireAccount } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok } from "../envelope.ts";
import { ApiError, CODES, invalid } from "../errors.ts";
import { params, query } from "../schemas.ts";
import { permits } from "../tokens.ts";

/** A client that reads slower than events arrive is cut off past this much unsent output. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_LIMIT = 100;

interface EventsQuery {
  host?: string;
  action?: string;
  reason?: string;
  since_id?: string;
  limit?: string;
}

const filterProperties = {
  host: { type: "string", minLength: 1, maxLength: 253, description: "exact host name" },
  action: { type: "string", enum: EDGE_EVENT_ACTIONS },
  reason: { type: "string", minLength: 1, maxLength: 100, description: "exact reason code" },
  since_id: { type: "string", pattern: "^(0|[1-9][0-9]{0,15})$", description: "only events after this id" },
} as const;

function noEdge(): ApiError {
  return new ApiError(
    503,
    CODES.unavailable,
    "edge events are not available here: this API runs without an edge (events are kept in memory by each `portcullis up` node)",
  );
}

/** Which hosts the request's token may see events of, under `accountId`. */
async function visibleHosts(
  request: FastifyRequest,
  store: Store,
  accountId: Id,
): Promise<(host: string) => boolean> {
  await requireAccount(request, store, accountId);
  const zones = await store.listZones();
  const own = zones.filter((zone) => zone.accountId === accountId).map((zone) => zone.name);
  const all = zones.map((zone) => zone.name);
  const admin = request.token ? permits(request.token, { kind: "admin" }, "read") : false;
  const inZones = (host: string, names: readonly string[]) =>
    names.some((name) => host === name || host.endsWith(`.${name}`));
  return (host) => inZones(host, own) || (admin && !inZones(host, all));
}

function filterOf(q: EventsQuery) {
  return {
    ...(q.host !== undefined ? { host: q.host.toLowerCase() } : {}),
    ...(q.action !== undefined ? { action: q.action } : {}),
    ...(q.reason !== undefined ? { reason: q.reason } : {}),
  };
}

export async function eventRoutes(app: FastifyInstance, { store, events }: ApiContext): Promise<void> {
  const tags = ["events"];
  const open = new Set<() => void>();
  // Streams never end by themselves: end them when the API closes.
  app.addHook("preClose", async () => {
    for (const end of open) end();
  });

  app.get<{ Params: { account_id: Id }; Querystring: EventsQuery }>(
    "/accounts/:account_id/events",
    {
      schema: {
        tags,
        params: params("account_id"),
        querystring: query({
          ...filterProperties,
          limit: { type: "string", pattern: "^[1-9][0-9]{0,3}$", description: `1 to ${MAX_EVENT_LIMIT}` },
        }),
      },
    },
    async (request) => {
      const visible = await visibleHosts(request, store, request.params.account_id);
      if (!events) throw noEdge();
      const q = request.query;
      const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
      if (limit > MAX_EVENT_LIMIT) throw invalid("querystring.limit", `must be at most ${MAX_EVENT_LIMIT}`);
      const found = events.list(
        { ...filterOf(q), ...(q.since_id !== undefined ? { sinceId: Number(q.since_id) } : {}), visible },
        limit,
      );
      return {
        ...ok(found),
        result_info: { count: found.length, last_id: events.lastId, capacity: events.capacity },
      };
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: Omit<EventsQuery, "limit"> }>(
    "/accounts/:account_id/events/stream",
    { schema: { tags, params: params("account_id"), querystring: query(filterProperties) } },
    async (request, reply) => {
      let visible = await visibleHosts(request, store, request.params.account_id);
      if (!events) throw noEdge();
      const lastEventId = request.headers["last-event-id"];
      // A reconnecting EventSource sends the last id it saw: newer than the URL's since_id.
      const since =
        typeof lastEventId === "string" && lastEventId !== "" ? lastEventId : request.query.since_id;
      if (since !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(since))
        throw invalid("headers.last-event-id", "must be an event id");
      const filter = filterOf(request.query);
      startStream(reply, (write, end) => {
        const send = (batch: readonly EdgeEvent[]) => {
          let text = "";
          for (const event of batch) {
            if (visible(event.host)) text += `id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
          }
          if (text !== "") write(text);
        };
        const unsubscribe = events.subscribe((batch) =>
          send(batch.filter((event) => matches(event, filter))),
        );
        write(`retry: 2000\n: last_id ${events.lastId}\n\n`);
        if (since !== undefined) send(events.since(Number(since), filter));
        // A comment line now and then keeps proxies from closing a quiet stream and notices gone clients.
        const heartbeat = setInterval(() => {
          write(": heartbeat\n\n");
          // The token may be revoked, its scopes and the zones changed while a tail runs: check again.
          authenticate(store, request.headers.authorization)
            .then((token) => {
              request.token = token;
              return visibleHosts(request, store, request.params.account_id);
            })
            .then(
              (latest) => {
                visible = latest;
              },
              () => end(),
            );
        }, events.heartbeatMs);
        heartbeat.unref();
        open.add(end);
        return () => {
          open.delete(end);
          clearInterval(heartbeat);
          unsubscribe();
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: { minutes?: string } }>(
    "/accounts/:account_id/analytics/mtls",
    {
      schema: {
        tags,
        params: params("account_id"),
        querystring: query({
          minutes: { type: "string", pattern: "^[1-9][0-9]{0,3}$", description: "1 to 1440 (default 60)" },
        }),
      },
    },
    async (request) => {
      const visible = await visibleHosts(request, store, request.params.account_id);
      if (!events) throw noEdge();
      const minutes = request.query.minutes === undefined ? 60 : Number(request.query.minutes);
      if (minutes > events.windowMinutes)
        throw invalid("querystring.minutes", `must be at most ${events.windowMinutes}`);
      return ok(events.analytics(minutes, Date.now(), visible));
    },
  );
}

/**
 * Takes the response over as text/event-stream. `run` gets `write` and `end` and returns its cleanup,
 * called once whichever way the stream ends (client gone, too slow, API closing).
 */
function startStream(
  reply: FastifyReply,
  run: (write: (text: string) => void, end: () => void) => () => void,
): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  let cleanup: (() => void) | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    cleanup?.();
    if (!raw.destroyed) raw.end();
  };
  const write = (text: string) => {
    if (ended) return;
    if (raw.writableLength > MAX_BUFFERED_BYTES) return end();
    raw.write(text);
  };
  raw.once("close", end);
  raw.on("error", end);
  cleanup = run(write, end);
  if (ended) cleanup();
}
