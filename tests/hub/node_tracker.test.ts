import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import type { ClusterEvent } from "../../shared/schemas.ts";
import { sampleReport } from "../support/samples.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { EventLog } from "../../hub/events/event_log.ts";
import { NodeTracker } from "../../hub/cluster/node_tracker.ts";
import { buildNodeMap } from "../../shared/node_map.ts";

const T0 = 1_700_000_000_000;
const LOST = 15_000;

/** A tracker on a fake clock with an in-memory store; `events` collects what is emitted. */
function setup() {
  const clock = new FakeClock(T0);
  const store = new SqliteStore(":memory:");
  const log = new EventLog(store, clock);
  const events: ClusterEvent[] = [];
  log.subscribe((e) => events.push(e));
  const tracker = new NodeTracker(buildNodeMap(), log, clock, LOST, store);
  const beat = (node: number) => tracker.heartbeat(node, sampleReport(node, clock.now()));
  const transitions = (node: number) =>
    events.filter((e) => e.type === "lifecycle_changed" && e.node === node)
      .map((e) => `${e.data.from}→${e.data.to}`);
  const ofType = (type: string) => events.filter((e) => e.type === type);
  const done = () => {
    tracker.close();
    store.close();
  };
  return { clock, store, log, events, tracker, beat, transitions, ofType, done };
}

Deno.test("NodeTracker: power on → heartbeat → silence gives off→powering→booting→running→lost", async () => {
  const t = setup();
  try {
    assert.equal(t.tracker.get(5).lifecycle, "off");
    t.tracker.beginOperation(5);
    t.tracker.endOperation(5, "on", null);
    assert.equal(t.tracker.get(5).lifecycle, "booting");
    assert.equal(t.tracker.get(5).poweredOnAt, T0);
    await t.clock.advance(20_000); // a slow boot is not "lost": no heartbeat yet
    assert.equal(t.tracker.get(5).lifecycle, "booting");
    t.beat(5);
    assert.equal(t.tracker.get(5).lifecycle, "running");
    await t.clock.advance(LOST);
    assert.equal(t.tracker.get(5).lifecycle, "lost");
    assert.deepEqual(t.transitions(5), [
      "off→powering",
      "powering→booting",
      "booting→running",
      "running→lost",
    ]);
    // Nothing about other nodes.
    assert.ok(t.events.every((e) => e.node === 5));
    // Events are stored in the same order as they were delivered.
    assert.deepEqual(t.log.after(0).map((e) => e.id), t.events.map((e) => e.id));
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: heartbeat_lost exactly lostAfterMs after the last heartbeat, not before", async () => {
  const t = setup();
  try {
    t.tracker.seed(9, "on");
    await t.clock.advance(1234);
    t.beat(9);
    const lastBeat = t.clock.now();
    await t.clock.advance(LOST - 1);
    assert.equal(t.ofType("heartbeat_lost").length, 0, "no lost event 1 ms early");
    assert.equal(t.tracker.get(9).lifecycle, "running");
    await t.clock.advance(1);
    const lost = t.ofType("heartbeat_lost");
    assert.equal(lost.length, 1);
    assert.equal(lost[0].node, 9);
    assert.equal(lost[0].at, lastBeat + LOST);
    assert.equal(lost[0].data.lastHeartbeatAt, lastBeat);
    assert.equal(lost[0].data.silentMs, LOST);
    assert.match(lost[0].message, /node 9/);
    const change = t.events.find((e) => e.type === "lifecycle_changed" && e.data.to === "lost");
    assert.equal(change?.at, lastBeat + LOST);
    // Silence continues: no second lost event.
    await t.clock.advance(10 * LOST);
    assert.equal(t.ofType("heartbeat_lost").length, 1);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: a late timer reports the real silence", async () => {
  const t = setup();
  try {
    t.tracker.seed(3, "on");
    t.beat(3);
    t.clock.lateness.push(40);
    await t.clock.advance(LOST + 100);
    const lost = t.ofType("heartbeat_lost");
    assert.equal(lost.length, 1);
    assert.equal(lost[0].at, T0 + LOST + 40);
    assert.equal(lost[0].data.silentMs, LOST + 40);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: a new heartbeat after lost is regained, and re-arms the deadline", async () => {
  const t = setup();
  try {
    t.tracker.seed(12, "on");
    t.beat(12);
    await t.clock.advance(LOST + 500);
    assert.equal(t.tracker.get(12).lifecycle, "lost");
    t.beat(12);
    const regainedAt = t.clock.now();
    assert.equal(t.tracker.get(12).lifecycle, "running");
    const regained = t.ofType("heartbeat_regained");
    assert.equal(regained.length, 1);
    assert.equal(regained[0].node, 12);
    assert.equal(regained[0].at, regainedAt);
    await t.clock.advance(LOST - 1);
    assert.equal(t.ofType("heartbeat_lost").length, 1);
    await t.clock.advance(1);
    const lost = t.ofType("heartbeat_lost");
    assert.equal(lost.length, 2);
    assert.equal(lost[1].at, regainedAt + LOST);
    assert.deepEqual(t.transitions(12), [
      "booting→running",
      "running→lost",
      "lost→running",
      "running→lost",
    ]);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: repeated heartbeats re-arm the deadline (no spurious lost)", async () => {
  const t = setup();
  try {
    t.tracker.seed(1, "on");
    // A heartbeat every LOST - 1 ms for a long time: the node never goes lost.
    for (let i = 0; i < 50; i++) {
      t.beat(1);
      await t.clock.advance(LOST - 1);
    }
    assert.equal(t.ofType("heartbeat_lost").length, 0);
    assert.equal(t.tracker.get(1).lifecycle, "running");
    assert.equal(t.clock.pending, 1, "one deadline pending, the old ones cancelled");
    // Then silence: lost exactly LOST after the last one.
    const last = t.clock.now() - (LOST - 1);
    await t.clock.advance(1);
    const lost = t.ofType("heartbeat_lost");
    assert.equal(lost.length, 1);
    assert.equal(lost[0].at, last + LOST);
    assert.deepEqual(t.transitions(1), ["booting→running", "running→lost"]);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: a node powered off before its deadline is off, not lost", async () => {
  const t = setup();
  try {
    t.tracker.seed(4, "on");
    t.beat(4);
    await t.clock.advance(1000);
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "off", null);
    assert.equal(t.tracker.get(4).lifecycle, "off");
    await t.clock.advance(2 * LOST);
    assert.equal(t.ofType("heartbeat_lost").length, 0);
    assert.equal(t.tracker.get(4).lifecycle, "off");
    assert.equal(t.tracker.get(4).poweredOnAt, null);
    // Powered on again: the old heartbeat does not count, the node boots.
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "on", null);
    assert.equal(t.tracker.get(4).lifecycle, "booting");
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: faults latch until the next good operation", () => {
  const t = setup();
  try {
    t.tracker.beginOperation(7);
    t.tracker.endOperation(7, "off", "rail stuck");
    assert.equal(t.tracker.get(7).lifecycle, "fault");
    assert.equal(t.tracker.get(7).fault, "rail stuck");
    t.tracker.beginOperation(7);
    assert.equal(t.tracker.get(7).lifecycle, "fault", "fault wins while operating");
    t.tracker.endOperation(7, "on", null);
    assert.equal(t.tracker.get(7).lifecycle, "booting");
    assert.deepEqual(t.transitions(7), ["off→powering", "powering→fault", "fault→booting"]);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: seed sets state without events; overlapping operations nest", () => {
  const t = setup();
  try {
    t.tracker.seed(2, "on");
    assert.equal(t.tracker.get(2).lifecycle, "booting");
    assert.equal(t.events.length, 0);
    t.tracker.beginOperation(2);
    t.tracker.beginOperation(2);
    t.tracker.endOperation(2, "on", null);
    assert.equal(t.tracker.get(2).lifecycle, "powering", "still one operation under way");
    t.tracker.endOperation(2, "on", null);
    assert.equal(t.tracker.get(2).lifecycle, "booting");
    assert.deepEqual(t.transitions(2), ["booting→powering", "powering→booting"]);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: close cancels every pending deadline", async () => {
  const t = setup();
  try {
    for (const n of [1, 2, 3]) {
      t.tracker.seed(n, "on");
      t.beat(n);
    }
    assert.equal(t.clock.pending, 3);
    t.tracker.close();
    assert.equal(t.clock.pending, 0);
    await t.clock.advance(2 * LOST);
    assert.equal(t.ofType("heartbeat_lost").length, 0);
    // Heartbeats after close do not arm new deadlines.
    t.beat(1);
    assert.equal(t.clock.pending, 0);
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: lost reached during a power operation still pairs lost/regained", async () => {
  const t = setup();
  try {
    t.tracker.beginOperation(8);
    t.tracker.endOperation(8, "on", null);
    t.beat(8);
    t.tracker.beginOperation(8); // e.g. a slow "on" re-issued while running
    await t.clock.advance(LOST + 10);
    assert.equal(t.tracker.get(8).lifecycle, "powering");
    assert.equal(t.ofType("heartbeat_lost").length, 0);
    t.tracker.endOperation(8, "on", null);
    assert.equal(t.tracker.get(8).lifecycle, "lost");
    assert.equal(t.ofType("heartbeat_lost").length, 1, "lost announced when it is reached");
    t.beat(8);
    assert.equal(t.tracker.get(8).lifecycle, "running");
    assert.equal(t.ofType("heartbeat_regained").length, 1);
    // A lost node switched off and on again: no regained without a lost, none twice.
    await t.clock.advance(LOST + 10);
    t.tracker.beginOperation(8);
    t.tracker.endOperation(8, "off", null);
    t.tracker.beginOperation(8);
    t.tracker.endOperation(8, "on", null);
    t.beat(8);
    assert.equal(t.ofType("heartbeat_lost").length, 2);
    assert.equal(t.ofType("heartbeat_regained").length, 1, "switched off: the loss is closed");
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: a heartbeat in the same millisecond as power-on counts", async () => {
  const t = setup();
  try {
    await t.clock.advance(0.3); // power-on at a fractional time; receipt times are whole ms
    t.tracker.beginOperation(9);
    t.tracker.endOperation(9, "on", null);
    t.tracker.heartbeat(9, sampleReport(9, Math.round(t.clock.now())));
    assert.equal(t.tracker.get(9).lifecycle, "running");
  } finally {
    t.done();
  }
});

Deno.test("NodeTracker: a heartbeat from a bay read off is a power_mismatch event, once per off period", async () => {
  const t = setup();
  try {
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "on", null);
    t.beat(4);
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "off", null);
    await t.clock.advance(500);
    t.beat(4); // in flight while the rail went off: not a mismatch
    assert.equal(t.ofType("power_mismatch").length, 0);
    await t.clock.advance(LOST);
    t.beat(4);
    t.beat(4);
    const told = t.ofType("power_mismatch");
    assert.equal(told.length, 1, "said once, not per heartbeat");
    assert.equal(told[0].node, 4);
    assert.match(
      told[0].message,
      /node 4: an agent .* heartbeats from this bay, but its rail reads off/,
    );
    // A new off period may be told again.
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "on", null);
    t.tracker.beginOperation(4);
    t.tracker.endOperation(4, "off", null);
    await t.clock.advance(LOST + 1);
    t.beat(4);
    assert.equal(t.ofType("power_mismatch").length, 2);
  } finally {
    t.done();
  }
});
