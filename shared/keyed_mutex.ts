/**
 * The one lock: async tasks run one at a time per key, in call order; different keys run
 * independently. A task runs after every task queued before it under the same key has
 * settled, whether that one succeeded or failed. Keys with nothing queued are forgotten.
 */

/** A promise-chain mutex per key. */
export class KeyedMutex<K = string> {
  readonly #tails = new Map<K, Promise<unknown>>();

  /** Runs `task` once the tasks queued before it under `key` have settled; resolves with its result. */
  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(task, task);
    const tail = result.catch(() => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
