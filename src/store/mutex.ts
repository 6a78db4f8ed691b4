/** A promise mutex: callers run one at a time, in arrival order. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    // The next caller waits for this one to settle, whether it failed or not.
    this.#tail = result.catch(() => {});
    return result;
  }
}
