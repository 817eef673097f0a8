/** The GPLEV0 analysis (pure): edges, phases and the on-grid error of a blink seen from outside. */
import assert from "node:assert/strict";
import {
  blinkReport,
  edgesOf,
  fastBlinkSeen,
  phases,
  quantile,
  type Sample,
} from "../../scripts/pi-lab/gplev.ts";

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

Deno.test("gplev: a 100/100 ms identify after the 900/100 heartbeat is seen after it began, never before, and at most 700 ms late, even sampled coarsely", () => {
  // heartbeat (on-grid), identify from `start`: samples 1 ms apart, or 60-110 ms apart
  for (const start of [3450, 3050, 3920]) {
    const level = (t: number) =>
      (t < start ? t % 1000 < 900 : Math.floor((t - start) / 100) % 2 === 0) ? 1 : 0;
    const fine: Sample[] = [];
    for (let t = 0; t < 6000; t += 1) fine.push({ t, level: level(t) as 0 | 1 });
    const coarse: Sample[] = [];
    for (let t = 0, i = 0; t < 6000; t += 60 + ((i++ * 37) % 51)) {
      coarse.push({ t, level: level(t) as 0 | 1 });
    }
    for (const samples of [fine, coarse]) {
      const at = fastBlinkSeen(edgesOf(samples), 4, 250);
      assert.ok(at > start && at <= start + 700, `identify from ${start} seen at ${at}`);
    }
    // the heartbeat alone is no fast blink
    const before = fine.filter((x) => x.t < start);
    assert.ok(Number.isNaN(fastBlinkSeen(edgesOf(before), 4, 250)), `before ${start}`);
  }
});

Deno.test("gplev: with a resolution, stretches sampled too coarsely give no figure rather than a wrong one", () => {
  // a 900/100 blink sampled every 2 ms, except 3000-6000 where samples come 340 ms apart (a
  // loaded host): there a dark phase hides in a gap and a lit phase seems to last 1900 ms
  const fine = blink(0, () => 0, 10, 2);
  const samples = fine.filter((x) => x.t < 3000 || x.t >= 6000 || x.t % 340 < 2);
  const loose = blinkReport(samples);
  assert.ok(loose.maxSampleGap >= 300);
  const strict = blinkReport(samples, 1000, false, 25);
  assert.equal(strict.onMs, 900);
  assert.equal(strict.offMs, 100);
  assert.equal(strict.gridErrorMax, 0);
  // the phases wholly inside 0-3000 and 6000-10000 (2 + 3 of each), none touching the coarse stretch
  assert.deepEqual(strict.used, { lit: 5, dark: 5, starts: 5 });
  assert.ok(loose.used.lit > strict.used.lit);
  // a lit phase sampled 60 ms apart in its middle still counts when no phase can hide in such
  // gaps (hideMs 90: the pattern's shortest phase is 100 ms); its edges must still be sharp
  const midGaps = fine.filter((x) => x.t % 1000 < 100 || x.t % 1000 >= 880 || x.t % 60 < 2);
  const sparse = blinkReport(midGaps, 1000, false, 25);
  const tolerant = blinkReport(midGaps, 1000, false, 25, 90);
  assert.equal(sparse.used.lit, 0);
  assert.equal(tolerant.used.lit, 9);
  assert.equal(tolerant.onMs, 900);
  assert.equal(blinkReport(samples, 1000, false, 25, 90).used.lit, 5, "the 340 ms gaps still hide");
});
