/**
 * The listeners of one Store. Versions may be heard several times (after our own commit, from NOTIFY, from
 * the poll); each listener gets each new version once, in increasing order. Versions that were skipped
 * between two reports are not replayed: a listener reloads the current state anyway.
 */
export class Watchers {
  readonly #listeners = new Set<(version: number) => void>();
  #last: number;

  constructor(version: number) {
    this.#last = version;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: (version: number) => void): () => void {
    // A wrapper, so the same function watched twice is two subscriptions.
    const entry = (version: number) => listener(version);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  offer(version: number): void {
    if (version <= this.#last) return;
    this.#last = version;
    for (const listener of [...this.#listeners]) {
      try {
        listener(version);
      } catch (error) {
        // One broken listener must not keep the others (or the committing writer) from hearing of it.
        process.emitWarning(`a store watcher threw: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}
