/**
 * Per-minute counters of edge events for the last 24 hours (a ring of minute buckets): requests by mTLS
 * result, per host, and failure reasons per host. Counting is O(1) per event; a query sums the buckets
 * of the window, keeping only the hosts a caller may see.
 */
import type { EdgeEvent } from "./types.ts";

export const DEFAULT_WINDOW_MINUTES = 24 * 60;
/** Most distinct hosts (and host+reason pairs) one minute keeps; the rest count under OTHER_HOST. */
export const DEFAULT_MAX_KEYS = 1000;
export const OTHER_HOST = "(other)";
const MINUTE_MS = 60_000;

/** What one request's mTLS standing was: the analytics' series. */
export type MtlsResult = "verified" | "missing" | "invalid" | "revoked" | "public";

export const RESULTS: readonly (MtlsResult | "rejected")[] = [
  "verified",
  "missing",
  "invalid",
  "revoked",
  "public",
  "rejected",
];

export interface Counts {
  requests: number;
  verified: number;
  missing: number;
  invalid: number;
  revoked: number;
  public: number;
  /** Requests no host took (400/421) or that failed inside the edge (500). */
  rejected: number;
  /** Events with a failure reason (denials, blocks, forwarded-with-a-failure in permissive mode...). */
  failures: number;
}

interface Bucket {
  minute: number;
  hosts: Map<string, Counts>;
  /** Keyed by host + "\0" + reason. */
  reasons: Map<string, number>;
}

export interface MinuteCounts extends Omit<Counts, "failures"> {
  /** ISO 8601 start of the minute. */
  time: string;
}

export interface MtlsAnalytics {
  since: string;
  until: string;
  minutes: number;
  totals: Omit<Counts, "failures">;
  buckets: MinuteCounts[];
  top_reasons: { reason: string; count: number }[];
  top_hosts: { host: string; requests: number; failures: number }[];
}

/** Events that are a request's one edge decision (every request has exactly one). */
const REQUEST_ACTIONS = new Set(["forward", "deny", "reject", "error"]);
/** Events whose reason is not a failure. */
const NOT_FAILURES = new Set(["log", "access_allow"]);

/** The mTLS series a decision event counts in; null for events that are not a request's decision. */
export function mtlsResult(event: Pick<EdgeEvent, "action" | "mtls">): MtlsResult | "rejected" | null {
  if (!REQUEST_ACTIONS.has(event.action)) return null;
  if (event.action === "reject" || event.action === "error") return "rejected";
  const mtls = event.mtls;
  if (!mtls) return "public";
  if (!mtls.presented) return "missing";
  if (mtls.failure === "certificate_revoked") return "revoked";
  return mtls.failure ? "invalid" : "verified";
}

function zero(): Counts {
  return {
    requests: 0,
    verified: 0,
    missing: 0,
    invalid: 0,
    revoked: 0,
    public: 0,
    rejected: 0,
    failures: 0,
  };
}

export class MinuteCounters {
  readonly #buckets: (Bucket | undefined)[];
  readonly #windowMinutes: number;
  readonly #maxKeys: number;

  constructor(options: { windowMinutes?: number; maxKeys?: number } = {}) {
    this.#windowMinutes = Math.max(1, options.windowMinutes ?? DEFAULT_WINDOW_MINUTES);
    this.#maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.#buckets = new Array(this.#windowMinutes);
  }

  get windowMinutes(): number {
    return this.#windowMinutes;
  }

  /** Counts `event`, which happened at `timeMs`. Events older than the window are not counted. */
  count(event: EdgeEvent, timeMs: number): void {
    const minute = Math.floor(timeMs / MINUTE_MS);
    const slot = minute % this.#windowMinutes;
    let bucket = this.#buckets[slot];
    if (!bucket || bucket.minute < minute) {
      bucket = { minute, hosts: new Map(), reasons: new Map() };
      this.#buckets[slot] = bucket;
    } else if (bucket.minute > minute) return; // older than the window
    const result = mtlsResult(event);
    const failed = event.reason !== null && !NOT_FAILURES.has(event.action);
    if (result === null && !failed) return;
    const counts = this.#hostCounts(bucket, event.host);
    if (result !== null) {
      counts.requests++;
      counts[result]++;
    }
    if (failed) {
      counts.failures++;
      let key = `${event.host}\0${event.reason}`;
      if (!bucket.reasons.has(key) && bucket.reasons.size >= this.#maxKeys) key = `${OTHER_HOST}\0(other)`;
      bucket.reasons.set(key, (bucket.reasons.get(key) ?? 0) + 1);
    }
  }

  #hostCounts(bucket: Bucket, host: string): Counts {
    let counts = bucket.hosts.get(host);
    if (!counts) {
      const key = bucket.hosts.size >= this.#maxKeys ? OTHER_HOST : host;
      counts = bucket.hosts.get(key);
      if (!counts) {
        counts = zero();
        bucket.hosts.set(key, counts);
      }
    }
    return counts;
  }

  /** The last `minutes` minutes up to `nowMs` (the current minute included), for hosts `visible` accepts. */
  query(
    minutes: number,
    nowMs: number,
    visible: (host: string) => boolean = () => true,
    top = 10,
  ): MtlsAnalytics {
    const span = Math.min(Math.max(1, Math.floor(minutes)), this.#windowMinutes);
    const last = Math.floor(nowMs / MINUTE_MS);
    const first = last - span + 1;
    const totals = zero();
    const hosts = new Map<string, { requests: number; failures: number }>();
    const reasons = new Map<string, number>();
    const buckets: MinuteCounts[] = [];
    for (let minute = first; minute <= last; minute++) {
      const sum = zero();
      const bucket = this.#buckets[minute % this.#windowMinutes];
      if (bucket?.minute === minute) {
        for (const [host, counts] of bucket.hosts) {
          if (!visible(host)) continue;
          add(sum, counts);
          const seen = hosts.get(host) ?? { requests: 0, failures: 0 };
          seen.requests += counts.requests;
          seen.failures += counts.failures;
          hosts.set(host, seen);
        }
        for (const [key, count] of bucket.reasons) {
          const cut = key.indexOf("\0");
          if (!visible(key.slice(0, cut))) continue;
          const reason = key.slice(cut + 1);
          reasons.set(reason, (reasons.get(reason) ?? 0) + count);
        }
      }
      add(totals, sum);
      const { failures: _failures, ...counts } = sum;
      buckets.push({ time: new Date(minute * MINUTE_MS).toISOString(), ...counts });
    }
    const { failures: _failures, ...totalCounts } = totals;
    return {
      since: new Date(first * MINUTE_MS).toISOString(),
      until: new Date((last + 1) * MINUTE_MS).toISOString(),
      minutes: span,
      totals: totalCounts,
      buckets,
      top_reasons: [...reasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, top),
      top_hosts: [...hosts]
        .map(([host, seen]) => ({ host, ...seen }))
        .sort((a, b) => b.failures - a.failures || b.requests - a.requests || a.host.localeCompare(b.host))
        .slice(0, top),
    };
  }
}

function add(into: Counts, from: Counts): void {
  into.requests += from.requests;
  into.verified += from.verified;
  into.missing += from.missing;
  into.invalid += from.invalid;
  into.revoked += from.revoked;
  into.public += from.public;
  into.rejected += from.rejected;
  into.failures += from.failures;
}
