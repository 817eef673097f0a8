/**
 * The `Clock` seam: all time used by hub and agent logic goes through it, so tests can
 * drive time with {@link FakeClock} (see `clock_fake.ts`) instead of waiting.
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
    for (let left = at - this.now(); left > 0 && !signal?.aborted; left = at - this.now()) {
      await this.sleep(Math.max(1, left), signal);
    }
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

/** The process-wide real clock. */
export const realClock: Clock = new RealClock();
