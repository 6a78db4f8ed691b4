/**
 * `portcullis status`: is the API reachable, is the token good, what the store holds (accounts, zones,
 * hostnames by mTLS mode) — what the API exposes.
 */
import { type ApiClient, ApiFailure } from "../client.ts";
import { command } from "../framework.ts";
import { formatFields } from "../output.ts";
import type { Account, Zone } from "../resolve.ts";
import type { HostnameJson } from "./hostname.ts";

export const statusCommand = command({
  name: "status",
  summary: "Check the API and the token, and count what the store holds",
  description:
    "Calls the API (GET /user/tokens/verify), then counts the accounts, zones and hostnames (by mTLS mode)\n" +
    "the token can see. Exit 0 when the API answers and the token is valid; 1 otherwise, with the reason.",
  async run({ out, api }) {
    const client = await api();
    const started = performance.now();
    const token = await client.get<{ id: string; status: string }>("/user/tokens/verify");
    const latencyMs = Math.round(performance.now() - started);
    const accounts = await client.list<Account>("/accounts");
    const zones = await client.list<Zone>("/zones");
    const modes: Record<string, number> = { enforce: 0, permissive: 0, off: 0 };
    let hostnames = 0;
    for (const zone of zones) {
      for (const host of await client.list<HostnameJson>(`/zones/${zone.id}/hostnames`)) {
        hostnames++;
        modes[host.mtls.mode] = (modes[host.mtls.mode] ?? 0) + 1;
      }
    }
    const edge = accounts[0] ? await edgeState(client, accounts[0].id) : null;
    const result = {
      api_url: client.root,
      reachable: true,
      latency_ms: latencyMs,
      token: { id: token.id, status: token.status },
      accounts: accounts.length,
      zones: zones.length,
      hostnames,
      hostnames_by_mode: modes,
      edge,
    };
    out.result(result, () =>
      process.stdout.write(
        formatFields([
          ["API", `${client.root} (answered in ${latencyMs} ms)`],
          ["Token", `${token.id} (${token.status})`],
          ["Accounts", accounts.length],
          ["Zones", zones.length],
          [
            "Hostnames",
            `${hostnames} (enforce ${modes.enforce}, permissive ${modes.permissive}, off ${modes.off})`,
          ],
          ["Edge", edgeText(edge)],
        ]),
      ),
    );
  },
});

interface EdgeState {
  events: boolean;
  last_event_id?: number;
  minutes?: number;
  totals?: Record<string, number>;
}

/** What the events API says of this node's edge: its last event id and the last 5 minutes' mTLS counts. */
async function edgeState(client: ApiClient, accountId: string): Promise<EdgeState> {
  try {
    const events = await client.envelope("GET", `/accounts/${accountId}/events`, { query: { limit: 1 } });
    const analytics = await client.get<{ minutes: number; totals: Record<string, number> }>(
      `/accounts/${accountId}/analytics/mtls`,
      { minutes: 5 },
    );
    const info = events.result_info as unknown as { last_id?: number } | undefined;
    return {
      events: true,
      ...(info?.last_id !== undefined ? { last_event_id: info.last_id } : {}),
      minutes: analytics.minutes,
      totals: analytics.totals,
    };
  } catch (err) {
    // 503: this API runs without an edge; 404: an API without the events routes.
    if (err instanceof ApiFailure && (err.status === 503 || err.status === 404)) return { events: false };
    throw err;
  }
}

function edgeText(edge: EdgeState | null): string {
  if (!edge) return "no account yet";
  if (!edge.events || !edge.totals) return "no events from an edge here (this API runs without one)";
  const totals = Object.entries(edge.totals)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ");
  return `serving; last ${edge.minutes} min: ${totals}`;
}
