import { AsyncLocalStorage } from "node:async_hooks";
import { StoreError } from "./types.ts";

/**
 * A promise mutex: callers run one at a time, in arrival order. A caller already holding it (e.g.
 * `store.transaction` called inside a transaction's function) is refused instead of waiting forever.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  readonly #holding = new AsyncLocalStorage<true>();

  /** Runs `fn` as if no transaction were running, e.g. to tell watchers (who may start their own) of a commit. */
  outside<T>(fn: () => T): T {
    return this.#holding.exit(fn);
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#holding.getStore()) {
      return Promise.reject(
        new StoreError(
          "invalid",
          "a transaction cannot start inside another one on the same store: use its tx",
        ),
      );
    }
    const result = this.#tail.then(() => this.#holding.run(true, task));
    // The next caller waits for this one to settle, whether it failed or not.
    this.#tail = result.catch(() => {});
    return result;
  }
}
