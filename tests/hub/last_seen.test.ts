/** A node that ran keeps the time it was last heard (`lastSeenAt`): when it goes off, and across a hub restart. */
import assert from "node:assert/strict";
import { NodeStatus } from "../../shared/schemas.ts";
import { sendHeartbeat } from "../live/live_support.ts";
import { startTestHub } from "../support/test_hub.ts";
import { SmallDisk } from "../support/small_disk.ts";

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

Deno.test("lastSeenAt: survives a hub restart on the same data dir (REST view)", async () => {
  const first = await startTestHub();
  const dir = first.dataDir;
  try {
    await first.hub.jobs.wait(first.hub.powerControl.power([4], "on").id);
    await sendHeartbeat(first, 4);
    const heard = NodeStatus.parse(await (await first.call("GET", "/api/v1/nodes/4")).json())
      .lastSeenAt;
    assert.ok(heard !== null);
    await first.close();

    const second = await startTestHub({ dataDir: dir });
    try {
      const n = NodeStatus.parse(await (await second.call("GET", "/api/v1/nodes/4")).json());
      assert.equal(n.lastHeartbeatAt, null, "no heartbeat since this hub started");
      assert.equal(n.lastSeenAt, heard, "but the time it was last heard is kept");
      const never = NodeStatus.parse(await (await second.call("GET", "/api/v1/nodes/5")).json());
      assert.equal(never.lastSeenAt, null, "a bay never heard stays null");
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lastSeenAt: written periodically, so a hub that dies without closing keeps it too", async () => {
  const t = await startTestHub({ overrides: { lastSeenFlushMs: 50 } });
  try {
    await t.hub.jobs.wait(t.hub.powerControl.power([6], "on").id);
    await sendHeartbeat(t, 6);
    const heard = t.hub.tracker.get(6).lastSeenAt;
    const deadline = Date.now() + 5_000;
    while (t.hub.store.lastSeen().get(6) !== heard && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Read back as a crashed hub's successor would: straight from the store, before any close.
    assert.equal(t.hub.store.lastSeen().get(6), heard);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("lastSeenAt: the periodic write outlives a full disk and catches up once space returns", async () => {
  const disk = await SmallDisk.mount(16);
  const t = await startTestHub({ dataDir: `${disk.dir}/data`, overrides: { lastSeenFlushMs: 50 } });
  try {
    await t.hub.jobs.wait(t.hub.powerControl.power([6], "on").id);
    await disk.fill();
    await sendHeartbeat(t, 6);
    const heard = Math.round(t.hub.tracker.get(6).lastSeenAt ?? 0);
    // Several periodic writes fail on the full disk (each would have been an unhandled
    // rejection ending the process, and the writer would have stopped for good).
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(t.hub.store.lastSeen().get(6), heard, "not written while the disk is full");
    await disk.free();
    const deadline = Date.now() + 5_000;
    while (t.hub.store.lastSeen().get(6) !== heard && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(t.hub.store.lastSeen().get(6), heard, "written once space returned");
  } finally {
    await t.close();
    await disk.unmount();
  }
});
