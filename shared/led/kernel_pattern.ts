/**
 * LED patterns for the kernel's `pattern` trigger (ledtrig-pattern), as the agent hands them
 * over when the board has the bay LED node. Pure: data in, text out.
 *
 * The kernel runs a pattern written to `/sys/class/leds/bay/pattern` as tuples of
 * `brightness duration`; two tuples in a row with the same brightness are a step (one timer),
 * different ones a ramp (a timer every 50 ms), so every level is written as the step pair
 * `v d v 0`. With `repeat` 1 the pattern runs once and then the LED keeps the last level set.
 * The pattern handed over is therefore a **dead-man**: the alive pattern unrolled for
 * `holdMs` and ending dark, which the agent restarts (`echo 1 > repeat`) at every on-grid
 * instant. An agent that dies or hangs stops restarting it, and within `holdMs` of its last
 * restart the LED goes dark and stays dark.
 *
 * The polarity is the device tree's (`active_low` on the Zero W): the kernel pattern is in
 * brightness, and the same for every model.
 */
import type { LedPattern } from "./patterns.ts";

/** How long the alive pattern runs after the last restart (ms): the dead-man's limit. */
export const KERNEL_HOLD_MS = 2000;
/** Restarts come at least this often (ms), on instants of the pattern's own grid. */
export const KERNEL_REARM_MS = 1000;

/** What the agent writes to the pattern trigger for one mode. */
export interface KernelPattern {
  /** The text for the trigger's `pattern` file (`v d v 0 …`). */
  readonly text: string;
  /** Where in the pattern's period the kernel pattern starts (its first rising edge), ms. */
  readonly phaseMs: number;
  /** Restart interval, a whole number of periods (ms). */
  readonly rearmMs: number;
  /** How long one run lasts before the LED goes dark, ms. */
  readonly holdMs: number;
}

/** The kernel pattern of `pattern`; `holdMs` must exceed the restart interval. */
export function kernelPattern(pattern: LedPattern, holdMs = KERNEL_HOLD_MS): KernelPattern {
  const period = pattern.period;
  const rearmMs = period * Math.ceil(KERNEL_REARM_MS / period);
  const cycles = Math.ceil(holdMs / period);
  if (cycles * period <= rearmMs) {
    throw new RangeError(`holdMs ${holdMs} must exceed the restart interval ${rearmMs} ms`);
  }
  // Start at the first rising edge, so that a run (and the whole unrolled hold) ends dark.
  const edges = pattern.edges;
  const first = Math.max(0, edges.findIndex((e) => e.value === 1));
  const phaseMs = edges[first].offset;
  const segments: [number, number][] = [];
  const at = (i: number) => (edges[(first + i) % edges.length].offset - phaseMs + period) % period;
  for (let i = 0; i < edges.length; i++) {
    const value = edges[(first + i) % edges.length].value;
    const length = (i + 1 < edges.length ? at(i + 1) : period) - at(i);
    const last = segments.at(-1);
    if (last && last[0] === value) last[1] += length;
    else segments.push([value, length]);
  }
  const tuples: string[] = [];
  let lastLevel = 0;
  for (let c = 0; c < cycles; c++) {
    for (const [v, d] of segments) {
      tuples.push(`${v} ${d} ${v} 0`);
      lastLevel = v;
    }
  }
  if (lastLevel === 1) tuples.push("0 0"); // a steady `on` must still end dark
  return { text: tuples.join(" "), phaseMs, rearmMs, holdMs: cycles * period };
}

/**
 * The first restart instant at or after `now` on the pattern's grid: the epoch's multiples of
 * `rearmMs`, shifted by `phaseMs`. Bays whose clocks agree restart together.
 */
export function nextRearm(k: KernelPattern, now: number): number {
  return Math.ceil((now - k.phaseMs) / k.rearmMs) * k.rearmMs + k.phaseMs;
}
