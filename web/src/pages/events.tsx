/** Edge events: a filterable table (newest first) and a live tail over the event stream. */
import { useEffect, useRef, useState } from "react";
import { call, enc, qs } from "../api.ts";
import { tailEvents } from "../events.ts";
import { useSession } from "../session.tsx";
import { type EdgeEvent, EVENT_ACTIONS } from "../types.ts";
import { Badge, Empty, Field, Page, Section, Show, TableHead, TextField, useLoad } from "../ui.tsx";

const MAX_ROWS = 500;

export function EventsPage() {
  const { account } = useSession();
  const initial = new URLSearchParams(window.location.search);
  const [host, setHost] = useState(initial.get("host") ?? "");
  const [action, setAction] = useState(initial.get("action") ?? "");
  const [reason, setReason] = useState(initial.get("reason") ?? "");
  const [applied, setApplied] = useState({ host, action, reason });
  const query = qs({
    host: applied.host.trim().toLowerCase(),
    action: applied.action,
    reason: applied.reason.trim(),
  });
  const loaded = useLoad(async () => {
    if (!account) return [];
    return (
      await call<EdgeEvent[]>(
        "GET",
        `/accounts/${enc(account.id)}/events${query}${query ? "&" : "?"}limit=200`,
      )
    ).result;
  }, `${account?.id}${query}`);
  const [live, setLive] = useState(false);
  const [tailState, setTailState] = useState<string>("");
  const [tailed, setTailed] = useState<EdgeEvent[]>([]);

  const newest = useRef<number | undefined>(undefined);
  newest.current = loaded.data?.[0]?.id;
  const accountId = account?.id;
  useEffect(() => {
    setTailed([]);
    if (!live || !accountId) return;
    const since = newest.current;
    const tail = tailEvents(
      accountId,
      `${query}${since === undefined ? "" : `${query ? "&" : "?"}since_id=${since}`}`,
      (batch) => setTailed((rows) => [...batch.reverse(), ...rows].slice(0, MAX_ROWS)),
      (state, error) => setTailState(error ? `${state}: ${error}` : state),
    );
    return () => tail.stop();
  }, [live, accountId, query]);

  const hostError =
    host.includes("/") || host.includes(" ") ? "Enter a host name only, like api.example.com." : undefined;
  return (
    <Page
      title="Events"
      intro="What the edge decided, request by request: kept in memory on this node (the newest first)."
    >
      <Section title="Filter">
        <form
          className="filters"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (!hostError) setApplied({ host, action, reason });
          }}
        >
          <TextField label="Host" error={hostError} value={host} onChange={setHost} />
          <Field label="Action">
            {(attributes) => (
              <select {...attributes} value={action} onChange={(event) => setAction(event.target.value)}>
                <option value="">any</option>
                {EVENT_ACTIONS.map((value) => (
                  <option key={value}>{value}</option>
                ))}
              </select>
            )}
          </Field>
          <TextField label="Reason" value={reason} placeholder="certificate_revoked" onChange={setReason} />
          <div className="filter-buttons">
            <button type="submit" className="primary">
              Apply
            </button>
            <button type="button" onClick={loaded.reload}>
              Refresh
            </button>
            <label className="check">
              <input type="checkbox" checked={live} onChange={(event) => setLive(event.target.checked)} />{" "}
              Live tail
            </label>
            {live ? (
              <span className="muted" role="status">
                {tailState}
              </span>
            ) : null}
          </div>
        </form>
      </Section>
      <Section title="Events">
        {!account ? (
          <Empty title="No account">Your token sees no account.</Empty>
        ) : (
          <Show loaded={loaded} what="events" feature="Edge events">
            {(rows) => (
              <EventTable events={[...new Map([...tailed, ...rows].map((e) => [e.id, e])).values()]} />
            )}
          </Show>
        )}
      </Section>
    </Page>
  );
}

const ACTION_TONE: Record<string, "ok" | "warn" | "bad" | "info" | "muted"> = {
  forward: "ok",
  access_allow: "ok",
  log: "info",
  deny: "bad",
  block: "bad",
  drop: "bad",
  access_deny: "bad",
  reject: "warn",
  error: "warn",
};

export function EventTable({ events, empty }: { events: EdgeEvent[]; empty?: string }) {
  if (events.length === 0)
    return (
      <Empty title={empty ?? "No events match"}>
        Requests to the edge show up here as they happen (turn on the live tail).
      </Empty>
    );
  return (
    <div className="table-wrap">
      <table className="events">
        <TableHead
          columns={["Time", "Host", "Request", "Status", "Action", "Reason", "Client certificate"]}
        />
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td data-label="Time" className="nowrap">
                {event.time.slice(11, 19)}
              </td>
              <td data-label="Host">{event.host}</td>
              <td data-label="Request" className="wrap mono">
                {event.method} {event.path}
              </td>
              <td data-label="Status">{event.status || "—"}</td>
              <td data-label="Action">
                <Badge tone={ACTION_TONE[event.action] ?? "muted"}>{event.action}</Badge>
              </td>
              <td data-label="Reason">{event.reason ?? <span className="muted">—</span>}</td>
              <td data-label="Client certificate" className="wrap">
                {event.mtls ? (
                  event.mtls.presented ? (
                    `${event.mtls.subject ?? "(no subject)"}${event.mtls.failure ? ` — ${event.mtls.failure}` : ""}`
                  ) : (
                    "none presented"
                  )
                ) : (
                  <span className="muted">not asked</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
