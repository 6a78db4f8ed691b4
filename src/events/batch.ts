/**
 * The worker side of edge events: `record` appends to an array (O(1), no I/O); a batch goes to
 * `deliver` every `intervalMs` or as soon as it holds `maxEvents`. Cluster workers deliver over IPC,
 * the single-process edge straight into the EventLog.
 */
import type { EdgeEventInput, EventBatch, EventSink } from "./types.ts";

export const DEFAULT_BATCH_INTERVAL_MS = 100;
export const DEFAULT_BATCH_MAX_EVENTS = 256;

export interface BatcherOptions {
  intervalMs?: number;
  maxEvents?: number;
}

export class EventBatcher implements EventSink {
  #events: EdgeEventInput[] = [];
  #times: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #deliver: (batch: EventBatch) => void;
  readonly #intervalMs: number;
  readonly #maxEvents: number;

  constructor(deliver: (batch: EventBatch) => void, options: BatcherOptions = {}) {
    this.#deliver = deliver;
    this.#intervalMs = options.intervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
    this.#maxEvents = options.maxEvents ?? DEFAULT_BATCH_MAX_EVENTS;
  }

  record(event: EdgeEventInput, atMs = Date.now()): void {
    this.#events.push(event);
    this.#times.push(atMs);
    if (this.#events.length >= this.#maxEvents) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Delivers what is pending now (also on shutdown). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#events.length === 0) return;
    const batch = { events: this.#events, times: this.#times };
    this.#events = [];
    this.#times = [];
    try {
      this.#deliver(batch);
    } catch {
      // A closed IPC channel (the supervisor is going away): the events are lost, the edge keeps serving.
    }
  }
}
