/** MAC learning one bay at a time, and forgetting a MAC. */
import assert from "node:assert/strict";
import { Job, NodeStatus } from "../../shared/schemas.ts";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("macs learn: bays are powered one at a time and each new MAC goes to the bay just powered", async () => {
  const t = await startTestHub({ overrides: { sequencer: { stepMs: 1 } } });
  try {
    const { store, events, tracker } = t.hub;
    // Play dnsmasq + the lease watcher: a booting bay asks for DHCP, the hub learns its MAC.
    // Bay 3's Pi is dead: it never asks.
    const onWhenLearned: number[][] = [];
    events.subscribe((e) => {
      if (e.type !== "power_changed" || e.data.to !== "on" || e.node === null || e.node === 3) {
        return;
      }
      const node = e.node;
      // Which other bays were already on when this one came on.
      onWhenLearned.push([1, 2, 3].filter((n) => n !== node && tracker.get(n).actual === "on"));
      setTimeout(() => {
        const mac = `b8:27:eb:00:00:0${node}`;
        store.updateNode(node, { mac });
        events.emit("mac_learned", node, `node ${node} is ${mac}`, { mac });
      }, 20);
    });
    // Bay 3 is on before (bays 1 and 2 are off): learned bays stay on, bay 3 ends as it was.
    assert.equal((await t.call("POST", "/api/v1/nodes/3/power", { state: "on" })).status, 200);
    const res = await t.call("POST", "/api/v1/macs/learn", { nodes: "1-3", timeoutMs: 300 });
    assert.equal(res.status, 202);
    const job = await t.hub.jobs.wait(Job.parse(await res.json()).id);
    assert.equal(job.state, "failed", "bay 3 never asked for an address");
    assert.deepEqual(job.result, {
      learned: [1, 2],
      missed: [3],
      summary: "learned 2 of 3; no DHCP request from 3; back on as before: 3",
      lines: [],
    });
    assert.deepEqual(
      onWhenLearned,
      [[], [1]],
      "each bay came on only after the one before was learned",
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => tracker.get(n).actual),
      ["on", "on", "on"],
      "learned bays are left on; bay 3, on before, is on again",
    );
    assert.equal(store.node(1).mac, "b8:27:eb:00:00:01");

    const again = await t.call("POST", "/api/v1/macs/learn", { nodes: "1-2" });
    assert.equal(again.status, 409, "nothing left to learn there");

    const forget = await t.call("DELETE", "/api/v1/nodes/1/mac");
    assert.equal(forget.status, 200);
    assert.equal(NodeStatus.parse(await forget.json()).mac, null);
    assert.ok(t.hub.events.latest(5).some((e) => e.type === "mac_forgotten" && e.node === 1));
    assert.equal((await t.call("DELETE", "/api/v1/nodes/1/mac")).status, 409);
    assert.equal(
      (await t.call("DELETE", "/api/v1/nodes/1/mac", undefined, { auth: false })).status,
      401,
    );
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
