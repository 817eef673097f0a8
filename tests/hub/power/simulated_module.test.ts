/** The simulated module keeps the `PowerSwitch` contract: `set` verifies the rail. */
import assert from "node:assert/strict";
import { SimulatedModule } from "../../../hub/power/simulated_module.ts";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import { buildNodeMap } from "../../../shared/node_map.ts";
import { HardwareFault } from "../../../shared/pins/errors.ts";

Deno.test("SimulatedModule: a stuck rail makes set a HardwareFault; a freed one follows", async () => {
  const clock = new FakeClock(0);
  const sim = new SimulatedModule({ map: buildNodeMap({ nodeCount: 12 }), clock, settleMs: 0 });
  sim.stuck.add(2);
  await assert.rejects(
    sim.set(2, "on"),
    (e) =>
      e instanceof HardwareFault &&
      /node 2 power rail reads off after switching it on/.test(e.message),
  );
  assert.equal(await sim.read(2), "off");
  await sim.set(2, "off"); // already there: nothing to follow
  sim.stuck.delete(2);
  await sim.set(2, "on");
  assert.equal(await sim.read(2), "on");
  await assert.rejects(sim.set(13, "on"), /simulated module has no node 13/);
});
