/**
 * When the LED's next piece of work (an edge, a restart) is due, and who waits for the due one
 * to be done: the agent's heartbeat falls due on the same timer tick as the LED's work and
 * waits here, so that reading health and sending never delays the LED. Used by both engines.
 */
import type { Clock } from "../../shared/clock.ts";

/** The gate between an LED engine's due work and the heartbeat. */
export class DueGate {
  readonly #clock: Clock;
  #nextAt = Infinity;
  #closed = false;
  #waiters: (() => void)[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves once the work due by now, if any, is done; at once when none is due. */
  afterDue(): Promise<void> {
    if (this.#closed || this.#nextAt > this.#clock.now()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The due work is done (or none is pending): the next is due at `nextAt`; wakes waiters. */
  done(nextAt: number): void {
    this.#nextAt = nextAt;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** The engine stopped: nothing is due any more, and nobody waits. */
  close(): void {
    this.#closed = true;
    this.done(Infinity);
  }
}
