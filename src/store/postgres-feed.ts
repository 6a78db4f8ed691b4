import type pg from "pg";

const POLL_MS = 1000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export interface FeedOptions {
  /** A new, unconnected client for LISTEN (not from the pool: it is held for the Store's life). */
  client: () => pg.Client;
  channel: string;
  version: () => Promise<number>;
  offer: (version: number) => void;
}

/**
 * How a PostgreSQL Store hears of other processes' commits: LISTEN on a dedicated client (reconnected with
 * backoff when it drops) plus a poll of the version every second, as a safety net for notifications lost
 * while disconnected. A notification is only a hint to read the version: the channel is database-wide, so
 * stores in other schemas of the same database notify it too.
 */
export class ChangeFeed {
  readonly #options: FeedOptions;
  readonly #poll: NodeJS.Timeout;
  #client: pg.Client | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;
  #stopped = false;
  #refreshing: Promise<void> | undefined;
  #again = false;

  constructor(options: FeedOptions) {
    this.#options = options;
    this.#poll = setInterval(() => this.refresh(), POLL_MS);
    this.#poll.unref();
    void this.#listen();
  }

  /** Reads the version and offers it; calls that arrive meanwhile coalesce into one more read. */
  refresh(): void {
    if (this.#stopped) return;
    if (this.#refreshing !== undefined) {
      this.#again = true;
      return;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        try {
          this.#options.offer(await this.#options.version());
        } catch {
          // Unreachable for now: the next poll tries again.
        }
      } while (this.#again && !this.#stopped);
      this.#refreshing = undefined;
    })();
  }

  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const client = this.#options.client();
    this.#client = client;
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      client.end().catch(() => {});
      if (this.#client === client) this.#client = undefined;
      this.#scheduleReconnect();
    };
    client.on("error", drop);
    client.on("end", drop);
    client.on("notification", (message) => {
      if (message.channel === this.#options.channel) this.refresh();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
      this.#delay = RECONNECT_MIN_MS;
      // Whatever was committed while we were not listening.
      this.refresh();
    } catch {
      drop();
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    this.#reconnect = setTimeout(() => void this.#listen(), this.#delay);
    this.#reconnect.unref();
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MAX_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#reconnect);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
    await this.#refreshing;
  }
}
