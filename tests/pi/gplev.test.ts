/** The GPLEV0 analysis (pure): edges, phases and the on-grid error of a blink seen from outside. */
import assert from "node:assert/strict";
import { blinkReport, edgesOf, phases, quantile, type Sample } from "../../scripts/pi-lab/gplev.ts";

/** Samples every `step` ms of a 900/100 blink whose rising edges sit at 1000k + `phase` + jitter. */
function blink(phase: number, jitter: (k: number) => number, n = 10, step = 1, activeLow = false) {
  const out: Sample[] = [];
  for (let t = 0; t < n * 1000; t += step) {
    const k = Math.floor((t - phase) / 1000);
    const rise = 1000 * k + phase + jitter(k);
    const lit = t >= rise && t < rise + 900;
    out.push({ t, level: (lit !== activeLow ? 1 : 0) as 0 | 1 });
  }
  return out;
}

Deno.test("gplev: edges and phases of a 900/100 blink", () => {
  const s = blink(250, () => 0);
  const e = edgesOf(s);
  // lit from the start (the rise at -750), dark at 150, lit again at 250
  assert.deepEqual([e[0].t, e[0].level, e[1].t, e[1].level], [150, 0, 250, 1]);
  const { high, low } = phases(e);
  assert.ok(high.every((h) => h === 900), String(high));
  assert.ok(low.every((l) => l === 100), String(low));
});

Deno.test("gplev: grid error is the distance from the best grid, phase free", () => {
  // every rising edge on 1000k + 990 (wrapping round the second) except one 30 ms late
  const r = blinkReport(blink(990, (k) => (k === 4 ? 30 : 0), 12));
  assert.equal(r.onMs, 900);
  assert.equal(r.offMs, 100);
  assert.equal(r.gridErrorP50, 0);
  assert.equal(r.gridErrorMax, 30);
  assert.equal(r.maxSampleGap, 1);
  // a blink whose period is 1020 ms drifts off any 1000 ms grid
  const drift = blinkReport(blink(0, (k) => 20 * k, 12));
  assert.ok(drift.gridErrorMax >= 80, JSON.stringify(drift));
});

Deno.test("gplev: an active-low LED is lit while the pin is low", () => {
  const r = blinkReport(blink(400, () => 0, 8, 2, true), 1000, true);
  assert.equal(r.onMs, 900);
  assert.equal(r.offMs, 100);
  assert.equal(r.gridErrorMax, 0);
});

Deno.test("gplev: quantile is nearest rank", () => {
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile([1, 2, 3], 0.99), 3);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});
