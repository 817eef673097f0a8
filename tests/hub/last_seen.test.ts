/** A node that ran and went off keeps the time it was last heard (`lastSeenAt`). */
import assert from "node:assert/strict";
import { NodeStatus } from "../../shared/schemas.ts";
import { sendHeartbeat } from "../live/live_support.ts";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("lastSeenAt: kept when the node goes off (lastHeartbeatAt is cleared); null if never heard", async () => {
  const t = await startTestHub();
  try {
    const node = async (id: number) =>
      NodeStatus.parse(await (await t.call("GET", `/api/v1/nodes/${id}`)).json());
    assert.equal((await node(3)).lastSeenAt, null, "never heard: null");
    await t.hub.jobs.wait(t.hub.powerControl.power([3], "on").id);
    await sendHeartbeat(t, 3);
    const up = await node(3);
    assert.ok(up.lastHeartbeatAt !== null);
    assert.equal(up.lastSeenAt, up.lastHeartbeatAt);
    await t.hub.jobs.wait(t.hub.powerControl.power([3], "off").id);
    const off = await node(3);
    assert.equal(off.lastHeartbeatAt, null, "an off node has no current heartbeat");
    assert.equal(off.lastSeenAt, up.lastHeartbeatAt, "but the hub remembers when it last ran");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
