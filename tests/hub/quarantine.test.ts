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
