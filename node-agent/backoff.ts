/** Capped exponential backoff with "equal jitter". Pure. */

/** Backoff settings, ms. */
export interface BackoffPolicy {
  /** Delay after the first failure, before jitter. */
  baseMs: number;
  /** Upper bound of the delay, before jitter. */
  maxMs: number;
}

/** Default: 1 s, 2 s, 4 s, 8 s, then 10 s (each times 0.5–1 by jitter). */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 10_000 };

/**
 * The wait after the `failures`-th consecutive failure (1, 2, …): `d = min(max, base ×
 * 2^(failures−1))`, then `d/2 + jitter × d/2` with `jitter` in [0, 1), so retries from many
 * nodes spread out instead of hitting a recovering hub together.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, jitter: number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  const j = Math.min(Math.max(jitter, 0), 1);
  return exp / 2 + (j * exp) / 2;
}
