/**
 * A fake {@link Clock} for tests: time stands still until the test calls `advance`.
 * Sleepers wake in time order, each seeing `now()` equal to the moment it asked for
 * (plus an optional per-wake lateness, to model a late timer).
 */
import type { Clock } from "../../../shared/clock.ts";

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** Lets queued promise callbacks (and the timers they start) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Deterministic clock driven by the test. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];
  /** Extra delay added to the next wake-ups (ms), consumed one per wake. Models late timers. */
  readonly lateness: number[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Number of sleeps waiting to be woken. */
  get pending(): number {
    return this.#sleepers.length;
  }

  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || at <= this.#now) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = { at, seq: this.#seq++, resolve };
      const abort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      sleeper.resolve = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.#now + Math.max(0, ms), signal);
  }

  /**
   * Moves time forward by `ms`, waking every sleeper due on the way in order and letting
   * the code it resumes run (and sleep again) before moving on.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      this.#sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#sleepers[0];
      if (!next || next.at > target) break;
      this.#sleepers.shift();
      const late = this.lateness.shift() ?? 0;
      this.#now = Math.max(this.#now, next.at + late);
      next.resolve();
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
  }
}
