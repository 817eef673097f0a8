/**
 * Reads a GPIO pin of an emulated Raspberry Pi from outside the guest: the SoC's GPLEV0
 * register (pin levels of GPIO 0-31) sampled through QMP as fast as QEMU answers (0.2-5 ms
 * apart under TCG), and the pure analysis of what was seen: edges, phase lengths, and how far
 * rising edges sit from a whole-second grid (the agent's LED is on-grid: on at every second).
 * No check of the lab trusts what the guest says about its own pins.
 */
import type { Qmp } from "./qmp.ts";

/** One reading: host time (ms, performance.now()) and the pin's level. */
export interface Sample {
  t: number;
  level: 0 | 1;
}

/** A change of level at host time `t` (ms; the first sample that shows it). */
export interface Edge {
  t: number;
  level: 0 | 1;
  /** Time since the sample before it: the edge happened in (t - gap, t]. */
  gap: number;
}

/** Samples bit `bit` of the 32-bit register at `addr` for `ms` milliseconds. */
export async function sampleBit(
  qmp: Qmp,
  addr: number,
  bit: number,
  ms: number,
): Promise<Sample[]> {
  const out: Sample[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const word = await qmp.readPhys32(addr);
    out.push({ t: performance.now(), level: ((word >>> bit) & 1) as 0 | 1 });
  }
  return out;
}

/** The level changes in `samples`. */
export function edgesOf(samples: Sample[]): Edge[] {
  const edges: Edge[] = [];
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].level !== samples[i - 1].level) {
      edges.push({
        t: samples[i].t,
        level: samples[i].level,
        gap: samples[i].t - samples[i - 1].t,
      });
    }
  }
  return edges;
}

/** Durations (ms) of the complete high and low phases between `edges`. */
export function phases(edges: Edge[]): { high: number[]; low: number[] } {
  const high: number[] = [];
  const low: number[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    (edges[i].level === 1 ? high : low).push(edges[i + 1].t - edges[i].t);
  }
  return { high, low };
}

/**
 * When a fast blink was certainly showing: the time of the last edge of the first run of
 * `count` edges each at most `maxGapMs` after the one before (late rather than early: the run's
 * first edges may still be the slow pattern's). NaN when there is no such run.
 */
export function fastBlinkSeen(edges: Edge[], count: number, maxGapMs: number): number {
  let run = 1;
  for (let i = 1; i < edges.length; i++) {
    run = edges[i].t - edges[i - 1].t <= maxGapMs ? run + 1 : 1;
    if (run >= count) return edges[i].t;
  }
  return NaN;
}

/** The `q` quantile (0-1) of `xs` (nearest rank), NaN when empty. */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** How a blink pattern looked from outside. */
export interface BlinkReport {
  edges: number;
  /** Median lit and dark phase, ms (lit = high, or low when `activeLow`). */
  onMs: number;
  offMs: number;
  /** Rising edges' distance from the best-fitting grid of `periodMs` (ms): p50, p99, max. */
  gridErrorP50: number;
  gridErrorP99: number;
  gridErrorMax: number;
  /** The largest gap between two samples (the resolution of every figure above). */
  maxSampleGap: number;
  /** How many lit and dark phases and lit-going edges the figures come from. */
  used: { lit: number; dark: number; starts: number };
}

/**
 * Rising edges (`activeLow`: falling) against a grid of period `periodMs`: the grid's phase is
 * the circular median of the edges' offsets (the guest's clock is its own; only the period is
 * shared), each edge's error its distance from that grid. With `resolutionMs`, only what the
 * samples resolved counts: an edge seen within `resolutionMs` of the sample before it, a phase
 * between two such edges whose samples were never `hideMs` or more apart (the pattern's
 * shortest phase: a gap that long could hide a whole phase). A loaded host answers QMP
 * unevenly (gaps of 100-340 ms were seen at load average 13): such stretches then give no
 * figure rather than a wrong one.
 */
export function blinkReport(
  samples: Sample[],
  periodMs = 1000,
  activeLow = false,
  resolutionMs = Infinity,
  hideMs = resolutionMs,
): BlinkReport {
  // coarse[k]: gaps of hideMs or more among samples 1..k (prefix sums)
  const coarse = [0];
  for (let k = 1; k < samples.length; k++) {
    coarse.push(coarse[k - 1] + (samples[k].t - samples[k - 1].t >= hideMs ? 1 : 0));
  }
  const seen: { edge: Edge; at: number }[] = [];
  for (let k = 1; k < samples.length; k++) {
    if (samples[k].level !== samples[k - 1].level) {
      seen.push({
        edge: { t: samples[k].t, level: samples[k].level, gap: samples[k].t - samples[k - 1].t },
        at: k,
      });
    }
  }
  const edges = seen.map((x) => x.edge);
  const on = activeLow ? 0 : 1;
  const lit: number[] = [];
  const dark: number[] = [];
  const sharp = (e: Edge) => e.gap <= resolutionMs;
  for (let i = 0; i + 1 < seen.length; i++) {
    if (!sharp(seen[i].edge) || !sharp(seen[i + 1].edge)) continue;
    if (coarse[seen[i + 1].at] - coarse[seen[i].at - 1] > 0) continue;
    (seen[i].edge.level === on ? lit : dark).push(seen[i + 1].edge.t - seen[i].edge.t);
  }
  const starts = edges.filter((e) => e.level === on && sharp(e)).map((e) => e.t);
  const offsets = starts.map((t) => ((t % periodMs) + periodMs) % periodMs);
  // the phase that minimises the median circular distance (tried at every edge's offset)
  const dist = (a: number, b: number) => {
    const d = Math.abs(a - b) % periodMs;
    return Math.min(d, periodMs - d);
  };
  let best = offsets[0] ?? 0;
  let bestScore = Infinity;
  for (const c of offsets) {
    const score = quantile(offsets.map((o) => dist(o, c)), 0.5);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  const errors = offsets.map((o) => dist(o, best));
  let maxGap = 0;
  for (let i = 1; i < samples.length; i++) {
    maxGap = Math.max(maxGap, samples[i].t - samples[i - 1].t);
  }
  return {
    edges: edges.length,
    onMs: quantile(lit, 0.5),
    offMs: quantile(dark, 0.5),
    gridErrorP50: quantile(errors, 0.5),
    gridErrorP99: quantile(errors, 0.99),
    gridErrorMax: errors.length ? Math.max(...errors) : NaN,
    maxSampleGap: maxGap,
    used: { lit: lit.length, dark: dark.length, starts: starts.length },
  };
}
