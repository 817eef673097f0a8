/**
 * A code-under-test's view of a {@link FakeClock} that counts its own sleeps, apart from those
 * of other fakes on the same clock (the LED kernel model's timer): the ones in flight now, and
 * the ones that ended because their time came (the timer wake-ups a real clock would cost).
 */
import type { Clock } from "../../../shared/clock.ts";
import type { FakeClock } from "./fake_clock.ts";

/** Counts the sleeps made through it; time is the inner fake clock's. */
export class CountingClock implements Clock {
  /** Sleeps begun and not over yet. */
  pending = 0;
  /** Sleeps that ended because their time came, not by an abort. */
  wakeups = 0;

  constructor(readonly inner: FakeClock) {}

  now(): number {
    return this.inner.now();
  }

  async sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (at <= this.inner.now() || signal?.aborted) return;
    this.pending++;
    try {
      await this.inner.sleepUntil(at, signal);
    } finally {
      this.pending--;
    }
    if (!signal?.aborted) this.wakeups++;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.inner.now() + Math.max(0, ms), signal);
  }
}
