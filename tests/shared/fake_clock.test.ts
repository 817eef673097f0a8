import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";

const T0 = 1_000_000;

Deno.test("FakeClock: time stands still until advance", async () => {
  const clock = new FakeClock(T0);
  assert.equal(clock.now(), T0);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(clock.now(), T0);
  await clock.advance(250);
  assert.equal(clock.now(), T0 + 250);
  await clock.advance(0);
  assert.equal(clock.now(), T0 + 250);
});

Deno.test("FakeClock: default start is a realistic epoch time", () => {
  assert.ok(new FakeClock().now() > Date.UTC(2020, 0, 1));
});

Deno.test("FakeClock: sleepers wake in time order, each seeing now() = its wake time", async () => {
  const clock = new FakeClock(T0);
  const woke: [string, number][] = [];
  const sleep = (label: string, ms: number) =>
    clock.sleep(ms).then(() => woke.push([label, clock.now()]));
  const all = Promise.all([
    sleep("c", 30),
    sleep("a", 10),
    clock.sleepUntil(T0 + 20).then(() => woke.push(["b", clock.now()])),
    sleep("a2", 10), // same time as "a", asked later: wakes after it
  ]);
  assert.equal(clock.pending, 4);
  await clock.advance(50);
  await all;
  assert.deepEqual(woke, [
    ["a", T0 + 10],
    ["a2", T0 + 10],
    ["b", T0 + 20],
    ["c", T0 + 30],
  ]);
  assert.equal(clock.now(), T0 + 50);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock: nobody wakes before their time; a boundary sleeper wakes exactly on it", async () => {
  const clock = new FakeClock(T0);
  let woke = false;
  const p = clock.sleep(100).then(() => (woke = true));
  await clock.advance(99);
  assert.equal(woke, false);
  assert.equal(clock.pending, 1);
  await clock.advance(1);
  await p;
  assert.equal(woke, true);
  assert.equal(clock.now(), T0 + 100);
});

Deno.test("FakeClock: a sleeper that sleeps again inside the window is woken in the same advance", async () => {
  const clock = new FakeClock(T0);
  const ticks: number[] = [];
  const loop = (async () => {
    for (let i = 0; i < 5; i++) {
      await clock.sleep(10);
      ticks.push(clock.now() - T0);
    }
  })();
  await clock.advance(35);
  assert.deepEqual(ticks, [10, 20, 30]);
  await clock.advance(100);
  await loop;
  assert.deepEqual(ticks, [10, 20, 30, 40, 50]);
});

Deno.test("FakeClock: negative sleeps are zero sleeps and wake on advance(0)", async () => {
  const clock = new FakeClock(T0);
  let woke = false;
  const p = clock.sleep(-5).then(() => (woke = true));
  await clock.advance(0);
  await p;
  assert.equal(woke, true);
  assert.equal(clock.now(), T0);
});

Deno.test("FakeClock: abort wakes a sleeper early and removes it", async () => {
  const clock = new FakeClock(T0);
  const ctl = new AbortController();
  let wokeAt: number | null = null;
  const p = clock.sleep(1000, ctl.signal).then(() => (wokeAt = clock.now()));
  const other = clock.sleep(2000);
  assert.equal(clock.pending, 2);
  await clock.advance(10);
  ctl.abort();
  await p;
  assert.equal(wokeAt, T0 + 10);
  assert.equal(clock.pending, 1);
  await clock.advance(5000);
  await other;
  assert.equal(clock.pending, 0);
  assert.equal(wokeAt, T0 + 10, "an aborted sleeper is not woken a second time");
});

Deno.test("FakeClock: an already-aborted signal returns at once without queueing", async () => {
  const clock = new FakeClock(T0);
  const ctl = new AbortController();
  ctl.abort();
  await clock.sleep(1000, ctl.signal);
  await clock.sleepUntil(T0 + 5000, ctl.signal);
  assert.equal(clock.pending, 0);
  assert.equal(clock.now(), T0);
});

Deno.test("FakeClock: aborting after the wake is harmless", async () => {
  const clock = new FakeClock(T0);
  const ctl = new AbortController();
  const p = clock.sleep(10, ctl.signal);
  await clock.advance(10);
  await p;
  ctl.abort();
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock: lateness delays the next wakes, one value per wake", async () => {
  const clock = new FakeClock(T0);
  clock.lateness.push(7, 3);
  const seen: number[] = [];
  const a = clock.sleep(10).then(() => seen.push(clock.now() - T0));
  const b = clock.sleep(40).then(() => seen.push(clock.now() - T0));
  const c = clock.sleep(60).then(() => seen.push(clock.now() - T0));
  await clock.advance(100);
  await Promise.all([a, b, c]);
  // 10 + 7 late, 40 + 3 late, 60 on time (lateness used up).
  assert.deepEqual(seen, [17, 43, 60]);
  assert.equal(clock.lateness.length, 0);
  assert.equal(clock.now(), T0 + 100);
});

Deno.test("FakeClock: lateness never moves time backwards", async () => {
  const clock = new FakeClock(T0);
  clock.lateness.push(50);
  const seen: number[] = [];
  const a = clock.sleep(10).then(() => seen.push(clock.now() - T0));
  const b = clock.sleep(20).then(() => seen.push(clock.now() - T0));
  await clock.advance(100);
  await Promise.all([a, b]);
  // The first wake is 50 ms late (at 60); the second, due at 20, cannot see an earlier time.
  assert.deepEqual(seen, [60, 60]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
});
