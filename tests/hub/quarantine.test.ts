/** Quarantine: stored across restarts, fault LED for a reporting node, skipped by bulk runs. */
import assert from "node:assert/strict";
import { HeartbeatReply, Job, NodeStatus } from "../../shared/schemas.ts";
import { startTestHub } from "../support/test_hub.ts";
import { sampleHeartbeat } from "../support/samples.ts";

Deno.test("a quarantined node stays fault after a restart, shows the fault LED and is skipped", async () => {
  const a = await startTestHub();
  const dir = a.dataDir;
  try {
    a.hub.quarantine.set(5, {
      stage: "heartbeat",
      reason: "boot stalled before heartbeat on 3 attempts",
      at: 1,
      attempts: 3,
    });
    assert.equal(a.hub.status.node(5).lifecycle, "fault");
    await a.close();

    const b = await startTestHub({ dataDir: dir });
    try {
      const n5 = NodeStatus.parse(await (await b.call("GET", "/api/v1/nodes/5")).json());
      assert.equal(n5.lifecycle, "fault", "the quarantine survived the restart");
      assert.equal(n5.quarantine?.stage, "heartbeat");
      // Its agent, if it reports at all, is asked to show the fault pattern.
      const res = await b.call("POST", "/api/v1/agent/heartbeat", sampleHeartbeat(5), {
        auth: b.hub.agentKey.value,
      });
      assert.equal(HeartbeatReply.parse(await res.json()).led, "fault");
      const other = await b.call("POST", "/api/v1/agent/heartbeat", sampleHeartbeat(6), {
        auth: b.hub.agentKey.value,
      });
      assert.equal(HeartbeatReply.parse(await other.json()).led, null);
      // A bulk switch-on leaves it off; naming it alone switches it.
      const bulk = Job.parse(
        await (await b.call("POST", "/api/v1/power", { state: "on", nodes: "4-6" })).json(),
      );
      assert.deepEqual((bulk.result as { skipped: number[] }).skipped, [5]);
      assert.equal(b.hub.status.node(5).power.actual, "off");
      assert.equal(b.hub.status.node(4).power.actual, "on");
      const only = await b.call("POST", "/api/v1/power", { state: "on", nodes: "5" });
      assert.equal(only.status, 200);
      assert.equal(b.hub.status.node(5).power.actual, "on");
      // Cleared: back in the runs; clearing again is a conflict.
      const cleared = await b.call("POST", "/api/v1/nodes/5/clear");
      assert.equal(cleared.status, 200);
      assert.equal(NodeStatus.parse(await cleared.json()).quarantine, null);
      assert.equal((await b.call("POST", "/api/v1/nodes/5/clear")).status, 409);
      assert.equal((await b.call("POST", "/api/v1/nodes/61/clear")).status, 400);
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manual power supervises only when asked: a silent node is cycled, then quarantined", async () => {
  const t = await startTestHub({
    overrides: {
      bootTimeouts: { dhcp_discover: 50, dhcp_ack: 60, tftp: 70, heartbeat: 80, running: 120 },
      recovery: { retries: 1, backoffMs: 5 },
    },
  });
  try {
    // No agents run here: every boot stalls before its first heartbeat.
    const plain = await t.call("POST", "/api/v1/nodes/10/power", { state: "on" });
    assert.equal(plain.status, 200);
    const res = await t.call("POST", "/api/v1/power", {
      state: "on",
      nodes: "9,11",
      supervise: true,
    });
    assert.equal(res.status, 200);
    const until = Date.now() + 5000;
    while (t.hub.quarantine.nodes().length < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(t.hub.quarantine.nodes(), [9, 11]);
    assert.equal(t.hub.quarantine.get(9)?.stage, "heartbeat", "netboot not observed here");
    assert.equal(t.hub.quarantine.get(9)?.attempts, 2);
    const cycles = t.hub.jobs.list().filter((j) => j.summary.startsWith("boot recovery"));
    assert.deepEqual(cycles.map((j) => j.summary.match(/node (\d+)/)![1]).sort(), ["11", "9"]);
    // Node 10 was switched without supervision: its boot is seen to stall, nothing acts on it.
    const boot10 = t.hub.boot.timelines(10).latest;
    assert.equal(boot10?.state, "stalled");
    assert.equal(t.hub.quarantine.get(10), null);
    assert.equal(t.hub.status.node(10).lifecycle, "booting");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
