import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import type { ClusterEvent, PowerState } from "../../shared/schemas.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { EventLog } from "../../hub/events/event_log.ts";
import { NodeTracker } from "../../hub/cluster/node_tracker.ts";
import {
  type NodePowerResult,
  PowerSequencer,
  type SequencerOptions,
} from "../../hub/cluster/power_sequencer.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import type { PowerSwitch } from "../../hub/power/power_switch.ts";

const T0 = 1_700_000_000_000;
const SETTLE = 5;
const OPTS: SequencerOptions = { perBus: 2, perStep: 12, stepMs: 100, cycleOffMs: 2000 };

/** Bus of a node: six per bus, computed here rather than taken from node_map. */
const busOf = (node: number) => Math.floor((node - 1) / 6) + 1;

interface Call {
  op: "set" | "read";
  node: number;
  state?: PowerState;
  begin: number;
  end?: number;
}

/** Wraps a PowerSwitch, recording every call with its fake-clock begin and end times. */
class RecordingSwitch implements PowerSwitch {
  readonly name = "recording";
  readonly calls: Call[] = [];
  /** Per node: how many calls are in flight; and the maximum seen. */
  readonly inFlight = new Map<number, number>();
  maxInFlight = 0;

  constructor(readonly inner: PowerSwitch, readonly clock: FakeClock) {}

  async #record<T>(call: Call, work: () => Promise<T>): Promise<T> {
    this.calls.push(call);
    const n = (this.inFlight.get(call.node) ?? 0) + 1;
    this.inFlight.set(call.node, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    try {
      return await work();
    } finally {
      call.end = this.clock.now();
      this.inFlight.set(call.node, (this.inFlight.get(call.node) ?? 1) - 1);
    }
  }

  set(node: number, state: PowerState): Promise<void> {
    const call: Call = { op: "set", node, state, begin: this.clock.now() };
    return this.#record(call, () => this.inner.set(node, state));
  }

  read(node: number): Promise<PowerState> {
    const call: Call = { op: "read", node, begin: this.clock.now() };
    return this.#record(call, () => this.inner.read(node));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  sets(state?: PowerState): Call[] {
    return this.calls.filter((c) => c.op === "set" && (!state || c.state === state));
  }
}

function setup(
  opts: { initial?: PowerState; sw?: (sim: SimulatedModule, clock: FakeClock) => PowerSwitch } = {},
) {
  const clock = new FakeClock(T0);
  const store = new SqliteStore(":memory:");
  const log = new EventLog(store, clock);
  const events: ClusterEvent[] = [];
  log.subscribe((e) => events.push(e));
  const map = buildNodeMap();
  const initial = opts.initial ?? "off";
  const sim = new SimulatedModule({
    map,
    clock,
    settleMs: SETTLE,
    initial: () => initial,
  });
  const rec = new RecordingSwitch(opts.sw ? opts.sw(sim, clock) : sim, clock);
  const tracker = new NodeTracker(map, log, clock, 15_000, store);
  for (let n = 1; n <= 60; n++) tracker.seed(n, initial);
  const seq = new PowerSequencer(rec, map, tracker, log, clock, OPTS);
  const done = () => {
    tracker.close();
    store.close();
  };
  return { clock, store, log, events, map, sim, rec, tracker, seq, done };
}

/** Asserts that within any window [t, t + stepMs) at most `limit` calls fall in each group. */
function assertWindowed(calls: Call[], group: (c: Call) => number, limit: number, label: string) {
  for (const c of calls) {
    const inWindow = calls.filter((d) =>
      group(d) === group(c) && d.begin >= c.begin && d.begin < c.begin + OPTS.stepMs
    );
    assert.ok(
      inWindow.length <= limit,
      `${label}: ${inWindow.length} calls in group ${group(c)} within ${OPTS.stepMs} ms of ` +
        `${c.begin - T0} (limit ${limit}): ${inWindow.map((d) => d.node)}`,
    );
  }
}

const all = Array.from({ length: 60 }, (_, i) => i + 1);

Deno.test("PowerSequencer: operations on one node never overlap", async () => {
  const t = setup();
  try {
    const p1 = t.seq.apply(5, "cycle");
    const p2 = t.seq.apply(5, "off");
    const p3 = t.seq.apply(5, "on");
    const p4 = t.seq.apply(6, "on"); // another node runs alongside
    await t.clock.advance(10_000);
    const [r1, r2, r3, r4] = await Promise.all([p1, p2, p3, p4]);
    assert.equal(t.rec.maxInFlight, 1, "at most one call in flight per node");
    // Order of the calls on node 5 is exactly the order asked: cycle (off, on), off, on.
    const node5 = t.rec.sets().filter((c) => c.node === 5).map((c) => c.state);
    assert.deepEqual(node5, ["off", "on", "off", "on"]);
    // Each call on node 5 starts after the previous one ended.
    const calls5 = t.rec.calls.filter((c) => c.node === 5);
    for (let i = 1; i < calls5.length; i++) {
      assert.ok(calls5[i].begin >= calls5[i - 1].end!, `call ${i} overlaps call ${i - 1}`);
    }
    assert.deepEqual([r1.ok, r2.ok, r3.ok, r4.ok], [true, true, true, true]);
    assert.deepEqual([r1.actual, r2.actual, r3.actual], ["on", "off", "on"]);
    // The cycle took two settles plus the off time; the later ones waited for it.
    assert.equal(r1.ms, 2 * SETTLE + OPTS.cycleOffMs);
    // Node 6 did not wait for node 5.
    const set6 = t.rec.sets().find((c) => c.node === 6)!;
    assert.equal(set6.begin, T0);
    assert.equal(r4.ms, SETTLE);
    assert.equal(await t.sim.read(5), "on");
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: concurrent bulk and single operations on a node still serialise", async () => {
  const t = setup();
  try {
    const bulk = t.seq.applyMany(all, "cycle");
    const single = all.map((n) => t.seq.apply(n, n % 2 ? "off" : "on"));
    await t.clock.advance(60_000);
    await Promise.all([bulk, ...single]);
    assert.equal(t.rec.maxInFlight, 1);
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: bulk on is staggered per bus and per step", async () => {
  const t = setup();
  try {
    const seen: number[] = [];
    const p = t.seq.applyMany(all, "on", (r) => seen.push(r.node));
    await t.clock.advance(5_000);
    const results = await p;
    const sets = t.rec.sets("on");
    // Every node switched on exactly once.
    assert.deepEqual(sets.map((c) => c.node).sort((a, b) => a - b), all);
    assertWindowed(sets, (c) => busOf(c.node), OPTS.perBus, "per bus");
    assertWindowed(sets, () => 0, OPTS.perStep, "per module");
    // It really was spread out: the first step at once, each later one a whole window after the
    // switch-ons of the step before had completed (windows count from the switch, not the grant).
    const times = [...new Set(sets.map((c) => c.begin - T0))].sort((a, b) => a - b);
    assert.equal(times[0], 0);
    assert.ok(times.length >= Math.ceil(60 / OPTS.perStep), `steps at ${times}`);
    for (let i = 1; i < times.length; i++) {
      const before = sets.filter((c) => c.begin - T0 === times[i - 1]);
      const done = Math.max(...before.map((c) => c.end! - T0));
      assert.ok(times[i] >= done + OPTS.stepMs, `step at ${times[i]} within a window of ${done}`);
    }
    // Results: one per node, sorted, all ok; onResult saw each node once.
    assert.deepEqual(results.map((r) => r.node), all);
    assert.ok(results.every((r) => r.ok && r.actual === "on" && r.requested === "on"));
    assert.deepEqual([...seen].sort((a, b) => a - b), all);
    for (let n = 1; n <= 60; n++) {
      assert.equal(await t.sim.read(n), "on");
      assert.equal(t.tracker.get(n).lifecycle, "booting");
    }
    const changed = t.events.filter((e) => e.type === "power_changed");
    assert.equal(changed.length, 60);
    assert.ok(changed.every((e) => e.data.from === "off" && e.data.to === "on"));
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: bulk off is issued at once, not staggered", async () => {
  const t = setup({ initial: "on" });
  try {
    const p = t.seq.applyMany(all, "off");
    await t.clock.advance(1_000);
    const results = await p;
    const sets = t.rec.sets("off");
    assert.equal(sets.length, 60);
    assert.ok(sets.every((c) => c.begin === T0), "every off at the same instant");
    assert.ok(results.every((r) => r.ok && r.actual === "off" && r.ms === SETTLE));
    for (let n = 1; n <= 60; n++) assert.equal(t.tracker.get(n).lifecycle, "off");
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: cycle is off, wait cycleOffMs, on", async () => {
  const t = setup({ initial: "on" });
  try {
    const p = t.seq.apply(20, "cycle");
    await t.clock.advance(SETTLE + OPTS.cycleOffMs - 1);
    assert.equal(await t.sim.read(20), "off", "still off during the off time");
    assert.equal(t.rec.sets("on").length, 0, "on not issued early");
    assert.equal(t.tracker.get(20).lifecycle, "powering");
    await t.clock.advance(1_000);
    const r = await p;
    const [off, on] = t.rec.sets();
    assert.equal(off.state, "off");
    assert.equal(off.begin, T0);
    assert.equal(on.state, "on");
    // The on command follows the end of the (driver-verified) off by exactly cycleOffMs.
    assert.equal(on.begin - off.end!, OPTS.cycleOffMs);
    assert.equal(on.begin, T0 + SETTLE + OPTS.cycleOffMs);
    assert.deepEqual(
      { ok: r.ok, actual: r.actual, requested: r.requested, ms: r.ms },
      { ok: true, actual: "on", requested: "cycle", ms: 2 * SETTLE + OPTS.cycleOffMs },
    );
    const power = t.events.filter((e) => e.type === "power_changed").map((e) => e.data.to);
    assert.deepEqual(power, ["off", "on"]);
    assert.equal(t.tracker.get(20).lifecycle, "booting");
    assert.equal(t.tracker.get(20).poweredOnAt, on.end);
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: bulk cycle staggers the on halves too", async () => {
  const t = setup({ initial: "on" });
  try {
    const p = t.seq.applyMany(all, "cycle");
    await t.clock.advance(10_000);
    const results = await p;
    assert.ok(results.every((r) => r.ok && r.actual === "on"));
    const ons = t.rec.sets("on");
    assert.equal(ons.length, 60);
    assertWindowed(ons, (c) => busOf(c.node), OPTS.perBus, "cycle on per bus");
    assertWindowed(ons, () => 0, OPTS.perStep, "cycle on per module");
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: a stuck rail is a fault, reported and latched", async () => {
  const t = setup();
  try {
    t.sim.stuck.add(8);
    const p = t.seq.applyMany([7, 8, 9], "on");
    await t.clock.advance(1_000);
    const results = await p;
    const r8 = results.find((r) => r.node === 8)!;
    assert.equal(r8.ok, false);
    assert.equal(r8.actual, "off");
    assert.match(r8.error ?? "", /node 8 power rail reads off after switching it on/);
    assert.ok(results.filter((r) => r.node !== 8).every((r) => r.ok));
    const faults = t.events.filter((e) => e.type === "fault");
    assert.equal(faults.length, 1);
    assert.equal(faults[0].node, 8);
    assert.deepEqual(faults[0].data, { requested: "on", actual: "off" });
    assert.equal(t.events.filter((e) => e.type === "power_changed" && e.node === 8).length, 0);
    assert.equal(t.tracker.get(8).lifecycle, "fault");
    assert.equal(t.tracker.get(7).lifecycle, "booting");
    // Freed, the next operation succeeds and clears the fault.
    t.sim.stuck.delete(8);
    const again = t.seq.apply(8, "on");
    await t.clock.advance(100);
    assert.equal((await again).ok, true);
    assert.equal(t.tracker.get(8).lifecycle, "booting");
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: a stuck rail during cycle stops before switching on", async () => {
  const t = setup({ initial: "on" });
  try {
    t.sim.stuck.add(3);
    const p = t.seq.apply(3, "cycle");
    await t.clock.advance(5_000);
    const r = await p;
    assert.equal(r.ok, false);
    assert.equal(r.actual, "on");
    assert.match(r.error!, /reads on after switching it off/);
    assert.deepEqual(t.rec.sets().map((c) => c.state), ["off"]);
    assert.equal(t.tracker.get(3).lifecycle, "fault");
  } finally {
    t.done();
  }
});

Deno.test("PowerSequencer: the driver verifies the rail; the sequencer does not read it back", async () => {
  const t = setup();
  try {
    const p = t.seq.applyMany([1, 2, 3], "on");
    await t.clock.advance(1_000);
    const results = await p;
    assert.ok(results.every((r) => r.ok && r.actual === "on"));
    assert.equal(t.rec.calls.filter((c) => c.op === "set").length, 3);
    assert.deepEqual(t.rec.calls.filter((c) => c.op === "read"), [], "no second check");
    // A failed set is followed by one read, to learn the state the rail is left in.
    t.sim.stuck.add(4);
    const failed = t.seq.apply(4, "on");
    await t.clock.advance(100);
    assert.equal((await failed).actual, "off");
    assert.deepEqual(t.rec.calls.filter((c) => c.op === "read").map((c) => c.node), [4]);
  } finally {
    t.done();
  }
});

/** A switch whose set() fails (async or synchronously) and whose read may fail too. */
function failing(mode: "async" | "sync", readFails: boolean) {
  return (sim: SimulatedModule): PowerSwitch => ({
    name: "failing",
    set(node, state) {
      if (node === 10) {
        if (mode === "sync") throw new Error("i2c bus 1: EIO");
        return Promise.reject(new Error("i2c bus 1: EIO"));
      }
      return sim.set(node, state);
    },
    read(node) {
      if (node === 10 && readFails) return Promise.reject(new Error("read EIO"));
      return sim.read(node);
    },
    close: () => Promise.resolve(),
  });
}

for (const mode of ["async", "sync"] as const) {
  for (const readFails of [false, true]) {
    Deno.test(`PowerSequencer: a throwing PowerSwitch (${mode}, read ${readFails ? "fails" : "works"}) is a fault, not a crash`, async () => {
      const t = setup({ sw: failing(mode, readFails) });
      try {
        const p = t.seq.applyMany([10, 11], "on");
        await t.clock.advance(1_000);
        const results: NodePowerResult[] = await p;
        const r10 = results.find((r) => r.node === 10)!;
        assert.equal(r10.ok, false);
        assert.equal(r10.actual, "off");
        assert.match(r10.error!, /node 10: i2c bus 1: EIO/);
        assert.equal(results.find((r) => r.node === 11)!.ok, true);
        const faults = t.events.filter((e) => e.type === "fault");
        assert.equal(faults.length, 1);
        assert.equal(faults[0].node, 10);
        assert.equal(t.tracker.get(10).lifecycle, "fault");
        // The node's lock is not poisoned: the next operation on it still runs.
        const next = t.seq.apply(10, "off");
        await t.clock.advance(100);
        const rn = await next;
        assert.equal(rn.node, 10);
        assert.equal(rn.ok, false);
      } finally {
        t.done();
      }
    });
  }
}
