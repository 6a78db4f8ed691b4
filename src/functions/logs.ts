/**
 * What functions print: console output and uncaught exceptions, read from each function's workerd, kept
 * per function (the last few hundred lines) and streamed to `tail` followers. Lives in the process that
 * runs the functions (`portcullis up`), which also serves the API's tail endpoint.
 */

export interface FunctionLogEntry {
  /** ISO 8601 with milliseconds. */
  time: string;
  /** The function's name. */
  script: string;
  /** log | info | warn | error | debug | exception | system */
  level: string;
  message: string;
}

const KEEP = 500;

export class FunctionLogs {
  readonly #recent = new Map<string, FunctionLogEntry[]>();
  readonly #followers = new Map<string, Set<(entry: FunctionLogEntry) => void>>();

  /** `key` is FunctionScript.key (`<account id>/<name>`). */
  push(key: string, entry: FunctionLogEntry): void {
    let lines = this.#recent.get(key);
    if (!lines) {
      lines = [];
      this.#recent.set(key, lines);
    }
    lines.push(entry);
    if (lines.length > KEEP) lines.splice(0, lines.length - KEEP);
    for (const follower of this.#followers.get(key) ?? []) follower(entry);
  }

  recent(key: string, limit = 100): FunctionLogEntry[] {
    return (this.#recent.get(key) ?? []).slice(-limit);
  }

  /** Calls `follower` with every new entry of the function until the returned function is called. */
  follow(key: string, follower: (entry: FunctionLogEntry) => void): () => void {
    let set = this.#followers.get(key);
    if (!set) {
      set = new Set();
      this.#followers.set(key, set);
    }
    set.add(follower);
    return () => {
      set.delete(follower);
      if (set.size === 0) this.#followers.delete(key);
    };
  }

  forget(key: string): void {
    this.#recent.delete(key);
  }
}

/** The process's function logs: the runtime writes, the API's tail endpoint reads. */
export const functionLogs = new FunctionLogs();
