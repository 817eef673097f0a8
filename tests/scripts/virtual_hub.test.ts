/**
 * The demo's hub (scripts/lib/virtual_hub.ts) is built by the hub's composition root, as
 * `deno task hub` builds it: its virtual bays netboot with the MACs of their own, and the
 * boot monitor sees their DHCP and TFTP, so the demo shows the same boot timelines.
 */
import assert from "node:assert/strict";
import type { BootTimeline } from "../../shared/boot_schemas.ts";
import { startVirtualHub } from "../../scripts/lib/virtual_hub.ts";

Deno.test("the virtual hub's bays boot with their DHCP and TFTP observed", async () => {
  const v = await startVirtualHub(0.01);
  try {
    const auth = { authorization: `Bearer ${v.hub.token.value}` };
    const on = await fetch(`${v.url}/api/v1/nodes/7/power`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ state: "on" }),
    });
    assert.equal(on.status, 200, await on.text());
    let latest: BootTimeline | null = null;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      const r = await fetch(`${v.url}/api/v1/nodes/7/boot`, { headers: auth });
      latest = (await r.json()).latest;
      if (latest?.stages.some((s) => s.stage === "heartbeat")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(latest, "a boot timeline for node 7");
    assert.equal(latest.netbootObserved, true);
    const stages = latest.stages.map((s) => s.stage);
    for (const s of ["dhcp_discover", "dhcp_ack", "tftp", "heartbeat"]) {
      assert.ok(stages.includes(s as typeof stages[number]), `${s} in ${stages.join(",")}`);
    }
    assert.ok(v.virtual.agents.has(7));
  } finally {
    await v.close();
  }
});
