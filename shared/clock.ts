/**
 * The `Clock` seam: all time used by hub and agent logic goes through it, so tests can
 * drive time with a fake clock (`tests/support/fakes/fake_clock.ts`) instead of waiting.
 */

/** A source of time and of sleeps. */
export interface Clock {
  /** Current time in milliseconds since the epoch (may be fractional). */
  now(): number;
  /** Resolves once `now() >= at`, or early when `signal` aborts. Never rejects. */
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>;
  /** Resolves after `ms`, or early when `signal` aborts. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: a monotonic, sub-millisecond time base anchored to the epoch. */
export class RealClock implements Clock {
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** setTimeout may fire a fraction of a millisecond early: sleep again until `at` has passed. */
  async sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (at === Infinity) return await this.sleep(Infinity, signal);
    for (let left = at - this.now(); left > 0 && !signal?.aborted; left = at - this.now()) {
      await this.sleep(Math.max(1, left), signal);
    }
  }

  /**
   * Sleeps `ms` (a non-finite `ms` sleeps until `signal` aborts, or forever). Long sleeps are
   * cut into timers the runtime accepts: setTimeout clamps anything over 2^31−1 ms to 1 ms.
   */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(ms)) {
      if (ms < 0 || Number.isNaN(ms)) return;
      return await new Promise<void>((resolve) => {
        if (!signal) return; // nothing can wake it: a sleep forever, with no timer at all
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    for (let left = ms; left > 0 && !signal?.aborted; left -= MAX_TIMER_MS) {
      await this.#timer(Math.min(left, MAX_TIMER_MS), signal);
    }
  }

  #timer(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The process-wide real clock. */
export const realClock: Clock = new RealClock();
