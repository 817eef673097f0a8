/** The real clock keeps the Clock contract: sleepUntil never resolves before its time. */
import assert from "node:assert/strict";
import { RealClock } from "../../shared/clock.ts";

Deno.test("RealClock.sleepUntil never wakes early, even for fractional deadlines", async () => {
  const clock = new RealClock();
  for (let i = 0; i < 60; i++) {
    const at = clock.now() + 1 + (i % 7) * 0.37; // fractional ms: setTimeout may fire early
    await clock.sleepUntil(at);
    const now = clock.now();
    assert.ok(now >= at, `woke ${(at - now).toFixed(3)} ms early on try ${i}`);
  }
});

Deno.test("RealClock sleeps end early when aborted", async () => {
  const clock = new RealClock();
  const ac = new AbortController();
  const start = clock.now();
  setTimeout(() => ac.abort(), 10);
  await clock.sleepUntil(start + 10_000, ac.signal);
  assert.ok(clock.now() - start < 5_000);
});

Deno.test("RealClock: an endless sleep sets no busy timer and ends on abort", async () => {
  const clock = new RealClock();
  const warnings: unknown[] = [];
  const realWarn = console.warn;
  const realSetTimeout = globalThis.setTimeout;
  let timers = 0;
  console.warn = (...a: unknown[]) => warnings.push(a);
  // Count timers started while the endless sleeps are pending.
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    timers++;
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  try {
    const ac = new AbortController();
    const forever = clock.sleepUntil(Infinity, ac.signal);
    const alsoForever = clock.sleep(Infinity, ac.signal);
    await new Promise((r) => realSetTimeout(r, 100));
    assert.equal(timers, 0, "no timer for an endless sleep");
    ac.abort();
    await forever;
    await alsoForever;
  } finally {
    globalThis.setTimeout = realSetTimeout;
    console.warn = realWarn;
  }
  assert.deepEqual(warnings, []);
});
