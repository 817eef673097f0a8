/** MAC learning one bay at a time, and forgetting a MAC. */
import assert from "node:assert/strict";
import { Job, NodeStatus } from "../../shared/schemas.ts";
import { startTestHub } from "../support/test_hub.ts";
import { sampleHeartbeat as heartbeat } from "../support/samples.ts";

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

Deno.test("a new MAC is learned only when no other bay without a MAC is on, or was on when it asked", async () => {
  const t = await startTestHub({ overrides: { sequencer: { stepMs: 1, cycleOffMs: 1 } } });
  try {
    const { store, netboot } = t.hub;
    const watcher = netboot.leaseWatcher;
    await watcher.poll(); // from here on, every line appended is read
    const lease = async (mac: string) => {
      const line = `${Math.floor(Date.now() / 1000)} add ${mac} 10.42.0.100 *\n`;
      await Deno.writeTextFile(netboot.leaseEventsFile, line, { append: true });
    };
    const power = async (nodes: string, state: string) =>
      assert.equal((await t.call("POST", "/api/v1/power", { state, nodes })).status, 200);

    // Bays 1 and 2 boot together; bay 1 asks, then is switched off before the lease is read
    // (dnsmasq's hook is polled): bay 2, alone by then, must not get bay 1's MAC.
    await power("1-2", "on");
    await lease("b8:27:eb:00:00:01");
    await power("1", "off");
    await watcher.poll();
    assert.equal(store.node(2).mac, null, "bay 1's MAC is not bay 2's");

    // Bay 1 runs (its agent reports) without a learned MAC and reboots by itself while bay 2
    // boots: its new lease could be either bay's.
    await power("1", "on");
    const hb = await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(1), {
      auth: "test-agent-key",
    });
    assert.equal(hb.status, 200);
    assert.equal(t.hub.tracker.get(1).lifecycle, "running");
    await lease("b8:27:eb:00:00:01");
    await watcher.poll();
    assert.equal(store.node(2).mac, null, "a running bay without a MAC may have asked");

    // Bay 2 alone, every other bay off since before it asked: its MAC is learned.
    await power("1", "off");
    await new Promise((r) => setTimeout(r, 1100)); // lease times are whole seconds
    await lease("b8:27:eb:00:00:02");
    await watcher.poll();
    assert.equal(store.node(2).mac, "b8:27:eb:00:00:02");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
