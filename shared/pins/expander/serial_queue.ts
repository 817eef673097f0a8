/**
 * Runs async tasks one at a time, in call order: a chip's read-modify-write of a port
 * register must not interleave with another's, or one pin's change clobbers a neighbour's.
 */

/** A one-at-a-time task queue. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; resolves with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => {});
    return result;
  }
}
