/**
 * The one live path: the tracker publishes every change of a node's status as a compact
 * `node_updated` update on the event log (heartbeats included), and every heartbeat consumer
 * takes them from there.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { applyNodeChanges } from "../../shared/node_update.ts";
import { type ClusterEvent, NodeUpdate } from "../../shared/schemas.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { EventLog } from "../../hub/events/event_log.ts";
import { EventFeed } from "../../hub/events/event_feed.ts";
import { NodeTracker } from "../../hub/cluster/node_tracker.ts";
import { PowerHealthWatch } from "../../hub/cluster/power_health.ts";
import { BootMonitor } from "../../hub/boot/boot_monitor.ts";
import { VENDOR_BOOT_TIMEOUTS } from "../../hub/boot/timeline.ts";
import { sampleHealth, sampleHeartbeat, sampleReport } from "../support/samples.ts";
import { startTestHub } from "../support/test_hub.ts";

const T0 = 1_700_000_000_000;

function setup() {
  const clock = new FakeClock(T0);
  const store = new SqliteStore(":memory:");
  const log = new EventLog(store, clock);
  const tracker = new NodeTracker(buildNodeMap(), log, clock, 15_000, store);
  const updates: NodeUpdate[] = [];
  const events: ClusterEvent[] = [];
  log.subscribeNodes((u) => updates.push(NodeUpdate.parse(u))); // valid on the wire
  log.subscribe((e) => events.push(e));
  const done = () => {
    tracker.close();
    store.close();
  };
  return { clock, store, log, tracker, updates, events, done };
}

Deno.test("tracker: a heartbeat's update says only what changed, health figures included", async () => {
  const { clock, tracker, updates, done } = setup();
  try {
    tracker.beginOperation(3);
    tracker.endOperation(3, "on", null);
    assert.deepEqual(updates.map((u) => [u.node, u.changes]), [
      [3, { lifecycle: "powering" }],
      [3, { power: { actual: "on" }, lifecycle: "booting" }],
    ]);

    await clock.advance(1000);
    const first = sampleReport(3, clock.now(), { seq: 1 });
    tracker.heartbeat(3, first);
    // No agent before: the report comes whole.
    assert.deepEqual(updates.at(-1)!.changes, {
      lifecycle: "running",
      lastHeartbeatAt: clock.now(),
      lastSeenAt: clock.now(),
      agent: first,
    });

    await clock.advance(1000);
    const second = sampleReport(3, clock.now(), {
      seq: 2,
      health: sampleHealth({ load1: 0.75, throttled: 0x50005 }),
    });
    tracker.heartbeat(3, second);
    assert.deepEqual(updates.at(-1), {
      node: 3,
      at: clock.now(),
      changes: {
        lastHeartbeatAt: clock.now(),
        lastSeenAt: clock.now(),
        agent: { health: { load1: 0.75, throttled: 0x50005 }, seq: 2, receivedAt: clock.now() },
      },
    });

    // The same report again still says it is a heartbeat (its seq), and nothing else.
    tracker.heartbeat(3, second);
    assert.deepEqual(updates.at(-1)!.changes, { agent: { seq: 2, receivedAt: clock.now() } });

    // Silence: `lost` is an update too, from the deadline timer.
    const before = updates.length;
    await clock.advance(15_000);
    assert.deepEqual(updates.slice(before).map((u) => u.changes), [{ lifecycle: "lost" }]);
  } finally {
    done();
  }
});

Deno.test("tracker: nothing changed, no update; untouched nodes get none", () => {
  const { tracker, updates, done } = setup();
  try {
    tracker.recordChanged(9);
    tracker.setQuarantine(9, null);
    assert.deepEqual(updates, []);
  } finally {
    done();
  }
});

Deno.test("hub: the first read plus every update since is what the hub shows now", async () => {
  const t = await startTestHub();
  try {
    const { hub } = t;
    const seen = new Map(hub.status.nodes().map((n) => [n.id, n]));
    const updates: NodeUpdate[] = [];
    const off = hub.events.subscribeNodes((u) => updates.push(NodeUpdate.parse(u)));
    try {
      const job = await (await t.call("POST", "/api/v1/power", { state: "on", nodes: "1-3" }))
        .json();
      assert.equal(job.state, "succeeded");
      for (const node of [1, 2, 3]) {
        for (const seq of [1, 2]) {
          hub.ingest.heartbeat(sampleHeartbeat(node, {
            seq,
            health: sampleHealth({ load1: node + seq / 10 }),
            led: node === 2 && seq === 2 ? "identify" : "heartbeat",
          }));
        }
      }
      hub.nodeSettings.setLed(2, "identify");
      hub.nodeSettings.setEnabled([3], false);
      assert.deepEqual(updates.at(-1), {
        node: 3,
        at: updates.at(-1)!.at,
        changes: { enabled: false },
      });
      const offJob = await (await t.call("POST", "/api/v1/nodes/2/power", { state: "off" }))
        .json();
      assert.equal(offJob.state, "succeeded");

      for (const u of updates) seen.set(u.node, applyNodeChanges(seen.get(u.node)!, u.changes));
      assert.deepEqual([...seen.values()], hub.status.nodes());
      assert.deepEqual(
        [...new Set(updates.map((u) => u.node))].sort(),
        [1, 2, 3],
        "only the nodes that changed",
      );
      // Node 2 went off: its LED request (identify) ended, its agent is gone.
      assert.equal(seen.get(2)!.ledRequested, null);
      assert.equal(seen.get(2)!.agent, null);
    } finally {
      off();
    }
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("heartbeat consumers subscribe to the event log: power health and boot monitor", async () => {
  const { clock, store, log, tracker, events, done } = setup();
  const map = buildNodeMap();
  const health = new PowerHealthWatch(map, log);
  const boot = new BootMonitor({
    map,
    events: log,
    clock,
    store,
    timeouts: VENDOR_BOOT_TIMEOUTS,
    nodeForMac: () => undefined,
    netbootObserved: () => false,
  });
  try {
    log.emit("power_changed", 5, "node 5 on", { from: "off", to: "on" });
    tracker.beginOperation(5);
    tracker.endOperation(5, "on", null);
    for (const seq of [1, 2]) {
      await clock.advance(500);
      tracker.heartbeat(
        5,
        sampleReport(5, clock.now(), { seq, health: sampleHealth({ throttled: 0x50005 }) }),
      );
    }
    const throttling = events.filter((e) => e.type === "throttling_changed");
    assert.equal(throttling.length, 1, "flags told once, from the first heartbeat");
    assert.equal(throttling[0].node, 5);
    const stages = events.filter((e) => e.type === "boot_stage" && e.node === 5)
      .map((e) => e.data.stage);
    assert.deepEqual(stages.slice(-2), ["heartbeat", "running"]);
    assert.equal(boot.timelines(5).latest?.state, "running");
  } finally {
    boot.close();
    health.close();
    done();
  }
});

Deno.test("event feed: node updates only when asked for, one merged update per node", () => {
  const { log, done } = setup();
  const plain = new EventFeed(log, null);
  const feed = new EventFeed(log, null, { nodeUpdates: true });
  try {
    log.publish({ node: 1, at: 1, changes: { agent: { seq: 1, health: { load1: 1 } } } });
    log.publish({ node: 2, at: 2, changes: { enabled: false } });
    log.publish({ node: 1, at: 3, changes: { agent: { seq: 2 }, lifecycle: "lost" } });
    assert.deepEqual(plain.takeUpdates(), []);
    assert.deepEqual(feed.takeUpdates(), [
      { node: 1, at: 3, changes: { agent: { seq: 2, health: { load1: 1 } }, lifecycle: "lost" } },
      { node: 2, at: 2, changes: { enabled: false } },
    ]);
    assert.deepEqual(feed.takeUpdates(), []);
    feed.close();
    log.publish({ node: 1, at: 4, changes: { enabled: true } });
    assert.deepEqual(feed.takeUpdates(), [], "a closed feed holds nothing");
  } finally {
    plain.close();
    feed.close();
    done();
  }
});
