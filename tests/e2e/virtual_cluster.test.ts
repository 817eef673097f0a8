/**
 * End to end on one machine: a hub on the simulated module, real node agents (the virtual
 * cluster) reporting over loopback HTTP, a bootstrap of a small set of bays, then one agent
 * killed and seen going `lost`.
 */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { VirtualCluster } from "../../hub/virtual/virtual_cluster.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import { realClock } from "../../shared/clock.ts";
import type { ClusterEvent } from "../../shared/schemas.ts";
import { serveTestHub } from "../support/test_hub.ts";

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("bootstrap brings every booted bay to running; a killed agent goes lost", async () => {
  const sim = new SimulatedModule({
    map: buildNodeMap({ nodeCount: 48 }),
    clock: realClock,
    settleMs: 1,
  });
  const t = await serveTestHub({
    settings: { nodeCount: 48, lostAfterMs: 800, heartbeatIntervalMs: 200 },
    overrides: {
      power: sim,
      // Compressed time, but the wait for first heartbeats keeps a margin over the 150 ms boot
      // delay: at 0.002 it was 180 ms, and the test failed under parallel load.
      timings: { ...scaleTimings(VENDOR_TIMINGS, 0.002), heartbeatTimeoutMs: 2000 },
      sequencer: { stepMs: 2 },
    },
  });
  const vc = new VirtualCluster({
    sim,
    map: t.hub.map,
    hubUrl: t.url,
    agentKeyFor: (n) => t.hub.agentKeys.keyFor(n),
    bootDelayMs: 150,
    intervalMs: 200,
  });
  vc.attach();
  const events: ClusterEvent[] = [];
  const unsubscribe = t.hub.events.subscribe((e) => events.push(e));
  try {
    const res = await t.call("POST", "/api/v1/bootstrap", { nodes: "1-6,23" });
    assert.equal(res.status, 202);
    const job = await t.hub.jobs.wait((await res.json()).id);
    assert.equal(job.state, "succeeded", job.error ?? "");
    assert.equal((job.result as { stage: string }).stage, "running");
    const booted = [1, 2, 3, 4, 5, 6, 23];
    for (const id of booted) {
      const n = t.hub.status.node(id);
      assert.equal(n.lifecycle, "running", `node ${id}`);
      assert.equal(n.agent?.identity.node, id);
      assert.equal(n.agent?.identity.hostname, n.hostname);
    }
    assert.equal(t.hub.status.node(7).power.actual, "off");
    assert.deepEqual([...vc.agents.keys()].sort((a, b) => a - b), booted);
    // Each bay went off → powering → booting → running, in that order.
    const path = events.filter((e) => e.node === 5 && e.type === "lifecycle_changed").map((e) =>
      e.data.to
    );
    assert.deepEqual(path.slice(-3), ["powering", "booting", "running"]);

    // Kill node 4's agent (its rail stays on): lost after lostAfterMs of silence.
    const lastBeat = t.hub.status.node(4).lastHeartbeatAt!;
    await vc.kill(4);
    await until(
      "node 4 lost",
      () => events.some((e) => e.type === "heartbeat_lost" && e.node === 4),
      5000,
    );
    const lost = events.find((e) => e.type === "heartbeat_lost" && e.node === 4)!;
    const latency = lost.at - lastBeat;
    assert.ok(latency >= 800 && latency < 1500, `lost ${latency} ms after the last heartbeat`);
    assert.equal(t.hub.status.node(4).lifecycle, "lost");
    assert.equal(
      t.hub.status.node(4).power.actual,
      "on",
      "power state and agent state are both shown",
    );
    assert.equal(t.hub.status.node(5).lifecycle, "running");

    // Powering a node off stops its agent.
    await t.hub.jobs.wait(t.hub.powerControl.power([6], "off").id);
    await until("agent 6 stopped", () => !vc.agents.has(6));
    assert.equal(t.hub.status.node(6).lifecycle, "off");
  } finally {
    unsubscribe();
    await vc.close();
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
