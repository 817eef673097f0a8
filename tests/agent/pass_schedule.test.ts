/** The heartbeat pass's schedule (node-agent/pass_schedule.ts): pure, on nominal pass instants. */
import assert from "node:assert/strict";
import { HOLD_MARGIN_MS, passHoldMs, PassSchedule } from "../../node-agent/pass_schedule.ts";

const T0 = 1_000_000;

Deno.test("pass schedule: passes on the grid, the first heartbeat at the anchor, one a second while answered", () => {
  const p = new PassSchedule(T0, 1000);
  assert.equal(p.nextPass(T0 - 0.5), T0);
  assert.equal(p.nextPass(T0), T0 + 1000);
  assert.equal(p.nextPass(T0 + 7.3), T0 + 1000); // a pass that ran late still goes to the grid
  assert.ok(p.dueToSend(T0));
  p.sent(T0);
  assert.ok(p.waiting);
  assert.ok(!p.dueToSend(T0 + 1000), "one heartbeat at a time");
  p.answered(1000); // read at the next pass
  assert.ok(p.dueToSend(T0 + 1000), "the next goes out in the same pass");
  assert.equal(p.sendAt, T0 + 1000);
});

Deno.test("pass schedule: an answer not there waits for the passes after, until the timeout", () => {
  const p = new PassSchedule(T0, 1000);
  p.sent(T0);
  assert.ok(!p.timedOut(T0 + 1000, 2000));
  assert.ok(p.timedOut(T0 + 2000, 2000));
  p.failed(T0 + 2000, 750);
  assert.ok(!p.waiting);
  assert.ok(!p.dueToSend(T0 + 2000));
  assert.ok(p.dueToSend(T0 + 3000), "the backoff's retry goes at the first pass after it");
});

Deno.test("pass schedule: the hub's longer interval sends on its own slots of the anchored timeline", () => {
  const p = new PassSchedule(T0, 1000);
  p.sent(T0);
  p.answered(5000);
  assert.equal(p.sendAt, T0 + 5000);
  for (let t = T0 + 1000; t < T0 + 5000; t += 1000) assert.ok(!p.dueToSend(t));
  assert.ok(p.dueToSend(T0 + 5000));
  assert.throws(() => new PassSchedule(T0, 0), RangeError);
});

Deno.test("passHoldMs: the hub may hold an answer until HOLD_MARGIN_MS before the next pass, at most 1000 ms", () => {
  assert.equal(HOLD_MARGIN_MS, 300);
  assert.equal(passHoldMs(1000), 700);
  assert.equal(passHoldMs(5000), 1000); // the wire's cap
  assert.equal(passHoldMs(250), 0); // no room: answered at once
  assert.equal(passHoldMs(1000.7), 700);
});
