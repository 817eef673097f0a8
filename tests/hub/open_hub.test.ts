/**
 * The composition root (hub/hub.ts): `openHub` closes the driver it was given or opened when
 * the hub cannot be built, and builds the virtual cluster only on the simulated module with
 * an agent URL to report to.
 */
import assert from "node:assert/strict";
import { openHub } from "../../hub/hub.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { realClock } from "../../shared/clock.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { testSettings } from "../support/test_hub.ts";

Deno.test("openHub closes the driver when the hub cannot be built", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-open-hub-" });
  try {
    const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock });
    let closed = 0;
    const close = sim.close.bind(sim);
    sim.close = () => (closed++, close());
    await Deno.writeTextFile(`${dir}/netboot.json`, "{ not json");
    await assert.rejects(
      openHub(testSettings(`${dir}/data`, { netbootConfigPath: `${dir}/netboot.json` }), {
        power: sim,
      }),
      /netboot/,
    );
    assert.equal(closed, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHub runs the virtual cluster on the simulated module with an agent URL only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-open-hub-" });
  try {
    const on = testSettings(`${dir}/a`, { virtualAgents: true });
    const withUrl = await openHub(on, { agentUrl: "http://127.0.0.1:9" });
    assert.ok(withUrl.virtual, "virtual agents on the simulated module with an agent URL");
    await withUrl.close();
    const noUrl = await openHub(testSettings(`${dir}/b`, { virtualAgents: true }));
    assert.equal(noUrl.virtual, null);
    await noUrl.close();
    const off = await openHub(testSettings(`${dir}/c`), { agentUrl: "http://127.0.0.1:9" });
    assert.equal(off.virtual, null);
    await off.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
