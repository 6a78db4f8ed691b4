/**
 * The supervisor's event log: the last N edge events in a ring buffer (ids monotonic per node), the
 * per-minute counters of the last 24 hours, and subscribers for a live tail. In memory: a restart
 * starts empty, and each node of a multi-node setup keeps its own.
 */
import { MinuteCounters, type MtlsAnalytics } from "./counters.ts";
import type { EdgeEvent, EdgeEventInput, EventBatch, EventBatchReceiver, EventSink } from "./types.ts";

export const DEFAULT_EVENT_CAPACITY = 10_000;
export const MAX_EVENT_LIMIT = 1000;

export interface EventFilter {
  host?: string;
  action?: string;
  reason?: string;
  /** Only events with a larger id. */
  sinceId?: number;
  /** Only events whose host this accepts (e.g. the hosts of one account). */
  visible?: (host: string) => boolean;
}

export type EventListener = (events: readonly EdgeEvent[]) => void;

export interface EventLogOptions {
  /** How many events the ring keeps (default 10,000). */
  capacity?: number;
  /** How many minutes the counters keep (default 24 h). */
  windowMinutes?: number;
  /** How often a quiet live tail sends a heartbeat comment (default 15 s). */
  heartbeatMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;

export class EventLog implements EventSink, EventBatchReceiver {
  readonly #ring: (EdgeEvent | undefined)[];
  readonly #capacity: number;
  readonly heartbeatMs: number;
  readonly #counters: MinuteCounters;
  readonly #listeners = new Set<EventListener>();
  /** The id the next event gets. */
  #nextId = 1;

  constructor(options: EventLogOptions = {}) {
    this.#capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_EVENT_CAPACITY));
    this.#ring = new Array(this.#capacity);
    this.heartbeatMs = Math.max(10, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.#counters = new MinuteCounters(
      options.windowMinutes !== undefined ? { windowMinutes: options.windowMinutes } : {},
    );
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The id of the newest event (0 before the first). */
  get lastId(): number {
    return this.#nextId - 1;
  }

  record(event: EdgeEventInput, atMs = Date.now()): void {
    this.add({ events: [event], times: [atMs] });
  }

  /** Takes a worker's batch: ids in arrival order, counted, then handed to every subscriber at once. */
  add(batch: EventBatch): void {
    const added: EdgeEvent[] = [];
    for (let i = 0; i < batch.events.length; i++) {
      const input = batch.events[i] as EdgeEventInput;
      const explicit = input.time === undefined ? Number.NaN : Date.parse(input.time);
      const timeMs = Number.isFinite(explicit) ? explicit : (batch.times[i] ?? Date.now());
      const event: EdgeEvent = {
        id: this.#nextId++,
        time: new Date(timeMs).toISOString(),
        host: input.host,
        method: input.method,
        path: input.path,
        remote: input.remote,
        status: input.status,
        action: input.action,
        reason: input.reason ?? null,
        ruleId: input.ruleId ?? null,
        mtls: input.mtls ?? null,
      };
      this.#ring[event.id % this.#capacity] = event;
      this.#counters.count(event, timeMs);
      added.push(event);
    }
    if (added.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(added);
      } catch {
        // One broken subscriber never stops the others or the edge.
      }
    }
  }

  /** Matching events, newest first, at most `limit` (capped at MAX_EVENT_LIMIT). */
  list(filter: EventFilter = {}, limit = 100): EdgeEvent[] {
    const max = Math.min(Math.max(0, Math.floor(limit)), MAX_EVENT_LIMIT);
    const out: EdgeEvent[] = [];
    const stop = Math.max(this.#firstId() - 1, filter.sinceId ?? 0);
    for (let id = this.lastId; id > stop && out.length < max; id--) {
      const event = this.#ring[id % this.#capacity] as EdgeEvent;
      if (matches(event, filter)) out.push(event);
    }
    return out;
  }

  /** Matching events after `sinceId` still in the ring, oldest first (a tail's replay). */
  since(sinceId: number, filter: EventFilter = {}): EdgeEvent[] {
    const out: EdgeEvent[] = [];
    for (let id = Math.max(sinceId + 1, this.#firstId()); id <= this.lastId; id++) {
      const event = this.#ring[id % this.#capacity] as EdgeEvent;
      if (matches(event, filter)) out.push(event);
    }
    return out;
  }

  /** Calls `listener` with every batch of new events; returns the function that stops it. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Per-minute counts of the last `minutes` minutes, top reasons and hosts. */
  analytics(minutes: number, nowMs = Date.now(), visible?: (host: string) => boolean): MtlsAnalytics {
    return this.#counters.query(minutes, nowMs, visible);
  }

  get windowMinutes(): number {
    return this.#counters.windowMinutes;
  }

  /** The oldest id still in the ring. */
  #firstId(): number {
    return Math.max(1, this.#nextId - this.#capacity);
  }
}

export function matches(event: EdgeEvent, filter: EventFilter): boolean {
  if (filter.sinceId !== undefined && event.id <= filter.sinceId) return false;
  if (filter.host !== undefined && event.host !== filter.host) return false;
  if (filter.action !== undefined && event.action !== filter.action) return false;
  if (filter.reason !== undefined && event.reason !== filter.reason) return false;
  if (filter.visible && !filter.visible(event.host)) return false;
  return true;
}
