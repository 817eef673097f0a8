/**
 * The absolute LED timeline. Edge n of a pattern started at `start` is due at
 * `start + floor(n / E) × period + edges[n mod E].offset` — computed from `start`, never by
 * adding up sleeps, so timer error does not accumulate. Pure functions.
 */
import type { BinaryValue } from "../pins/gpio_line.ts";
import type { LedPattern } from "./patterns.ts";

/** Edge `index` of `pattern` on the timeline starting at `start`. */
export interface ScheduledEdge {
  readonly index: number;
  readonly at: number;
  readonly value: BinaryValue;
}

/** The edge with number `index` (0, 1, 2, …). */
export function edgeAt(pattern: LedPattern, start: number, index: number): ScheduledEdge {
  const n = pattern.edges.length;
  const cycle = Math.floor(index / n);
  const edge = pattern.edges[index - cycle * n];
  return { index, at: start + cycle * pattern.period + edge.offset, value: edge.value };
}

/**
 * The latest edge due at or before `now` (edge 0 if `now` precedes the start). A late
 * wake-up lands here: it applies the current level and skips the edges it missed.
 */
export function currentEdge(pattern: LedPattern, start: number, now: number): ScheduledEdge {
  if (now <= start) return edgeAt(pattern, start, 0);
  const n = pattern.edges.length;
  const cycle = Math.floor((now - start) / pattern.period);
  const into = now - start - cycle * pattern.period;
  let i = 0;
  while (i + 1 < n && pattern.edges[i + 1].offset <= into) i++;
  return edgeAt(pattern, start, cycle * n + i);
}
