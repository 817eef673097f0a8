/** Module-wide inrush limiting: the pure admission rule and the limiter over a fake clock. */
import assert from "node:assert/strict";
import { admit, type Grant, InrushLimiter, planWindows } from "../../hub/cluster/inrush.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { busSlotOf } from "../../shared/node_map.ts";

const LIMITS = { perBus: 2, perStep: 12, stepMs: 100 };
const busOf = (node: number) => busSlotOf(node).bus;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Admission window by window until every node is granted (the dry run's planner). */
function windows(nodes: number[], limits = LIMITS): number[][] {
  return planWindows(nodes.map((node) => ({ node, bus: busOf(node) })), limits).map((w) => w.nodes);
}

Deno.test("admit: 60 nodes at 2 per bus and 12 per step take the minimum 5 windows", () => {
  const w = windows(range(1, 60));
  assert.equal(w.length, 5);
  assert.ok(w.every((x) => x.length === 12));
  assert.deepEqual(w.flat().sort((a, b) => a - b), range(1, 60), "every node exactly once");
  // The first window takes the first two bays of buses 1-6.
  assert.deepEqual(w[0], [1, 2, 7, 8, 13, 14, 19, 20, 25, 26, 31, 32]);
});

Deno.test("admit: never more than the limits per window, never overtaking on one bus", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 200; trial++) {
    const nodes = range(1, 60).filter(() => rand() < 0.6).sort(() => rand() - 0.5);
    const limits = {
      perBus: 1 + Math.floor(rand() * 3),
      perStep: 1 + Math.floor(rand() * 15),
      stepMs: 100,
    };
    const w = windows(nodes, limits);
    for (const win of w) {
      assert.ok(win.length <= limits.perStep);
      const perBus = new Map<number, number>();
      for (const n of win) perBus.set(busOf(n), (perBus.get(busOf(n)) ?? 0) + 1);
      assert.ok([...perBus.values()].every((c) => c <= limits.perBus));
    }
    const order = w.flat();
    for (const bus of new Set(nodes.map(busOf))) {
      const asked = nodes.filter((n) => busOf(n) === bus);
      const got = order.filter((n) => busOf(n) === bus);
      assert.deepEqual(got, asked, `bus ${bus} order`);
    }
    assert.equal(order.length, nodes.length);
  }
});

Deno.test("admit: grants older than the window no longer count, younger ones do", () => {
  const recent: Grant[] = [{ at: 0, bus: 1 }, { at: 50, bus: 1 }];
  assert.deepEqual(admit([1], recent, 99, LIMITS).granted, [], "bus 1 is full until t=100");
  assert.deepEqual(admit([1, 2], recent, 99, LIMITS).granted, [1], "bus 2 may go");
  assert.deepEqual(admit([1], recent, 100, LIMITS).granted, [0], "the t=0 grant has expired");
  assert.deepEqual(
    admit([1, 2, 3], [], 0, { ...LIMITS, perStep: 2 }, 1).granted,
    [1, 2],
    "turn after bus 1",
  );
  assert.throws(() => admit([1], [], 0, { ...LIMITS, perBus: 0 }), /at least 1/);
});

Deno.test("InrushLimiter: concurrent requests share the module-wide limit", async () => {
  const clock = new FakeClock(0);
  const limiter = new InrushLimiter(LIMITS, clock);
  const granted: { node: number; at: number }[] = [];
  // Two independent "jobs" asking at the same time, as two bulk power-ons would; each rail
  // switches the moment it is granted.
  const ask = (nodes: number[]) =>
    nodes.map((n) =>
      limiter.acquire(busOf(n)).then((switched) => {
        granted.push({ node: n, at: clock.now() });
        switched();
      })
    );
  const all = [...ask(range(1, 30)), ...ask(range(31, 60))];
  await clock.advance(1000);
  await Promise.all(all);
  assert.equal(granted.length, 60);
  const byWindow = new Map<number, number[]>();
  for (const g of granted) byWindow.set(g.at, [...(byWindow.get(g.at) ?? []), g.node]);
  for (const [at, nodes] of byWindow) {
    assert.ok(nodes.length <= 12, `${nodes.length} rails at t=${at}`);
    const perBus = new Map<number, number>();
    for (const n of nodes) perBus.set(busOf(n), (perBus.get(busOf(n)) ?? 0) + 1);
    assert.ok([...perBus.values()].every((c) => c <= 2), `t=${at}: ${nodes}`);
  }
  assert.deepEqual([...byWindow.keys()].sort((a, b) => a - b), [0, 100, 200, 300, 400]);
});

Deno.test("InrushLimiter: a granted rail that has not switched yet keeps its slot", async () => {
  const clock = new FakeClock(0);
  const limiter = new InrushLimiter(LIMITS, clock);
  const granted: number[] = [];
  const switchers: (() => void)[] = [];
  for (const n of [1, 2, 3]) {
    limiter.acquire(busOf(n)).then((switched) => {
      granted.push(n);
      switchers.push(switched);
    });
  }
  await clock.advance(0);
  assert.deepEqual(granted, [1, 2]);
  // The writes for 1 and 2 land late (a busy hub): a window later, 3 still waits for them.
  await clock.advance(250);
  assert.deepEqual(granted, [1, 2], "3 is not let on while 1 and 2 are still switching");
  switchers[0]();
  switchers[1]();
  await clock.advance(99);
  assert.deepEqual(granted, [1, 2], "the window runs from the switch");
  await clock.advance(1);
  assert.deepEqual(granted, [1, 2, 3]);
  switchers[2]();
});

Deno.test("planWindows (dry run) is the schedule the live limiter gives", async () => {
  for (const nodes of [range(1, 60), [5, 6, 11, 12, 17, 1, 2, 3, 4, 60], range(13, 24)]) {
    const clock = new FakeClock(0);
    const limiter = new InrushLimiter(LIMITS, clock);
    const live = new Map<number, number[]>();
    const all = nodes.map((n) =>
      limiter.acquire(busOf(n)).then((switched) => {
        live.set(clock.now(), [...(live.get(clock.now()) ?? []), n]);
        switched();
      })
    );
    await clock.advance(2000);
    await Promise.all(all);
    const plan = planWindows(nodes.map((node) => ({ node, bus: busOf(node) })), LIMITS);
    assert.deepEqual(
      plan.map((w) => [w.atMs, [...w.nodes].sort((a, b) => a - b)]),
      [...live].map(([at, ns]) => [at, ns.sort((a, b) => a - b)]),
    );
  }
});
