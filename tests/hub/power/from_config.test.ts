import { buildNodeMap, type NodeCount } from "../../../shared/node_map.ts";
import assert from "node:assert/strict";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import { PowerConfigError } from "../../../hub/power/errors.ts";
import { layerErrorCode } from "../../../hub/http/errors.ts";
import { FakeI2cBus } from "../../support/fakes/i2c/fake_bus.ts";
import { Mcp23017Model } from "../../support/fakes/i2c/fake_mcp23017.ts";
import { createPowerSwitch, type PowerSwitchDeps } from "../../../hub/power/from_config.ts";
import { defaultI2cPowerConfig } from "../../../hub/power/power_config.ts";
import { SimulatedModule } from "../../../hub/power/simulated_module.ts";

function deps(): PowerSwitchDeps & { sim: SimulatedModule } {
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: new FakeClock() });
  return {
    sim,
    map: buildNodeMap(),
    simulated: () => sim,
    openI2cBus: (n) =>
      Promise.resolve(new FakeI2cBus(`/dev/i2c-${n}`).attach(0x20, new Mcp23017Model())),
    openGpioLine: () => Promise.reject(new Error("no GPIO in this test")),
  };
}

Deno.test("createPowerSwitch builds the driver the config names", async () => {
  const d = deps();
  assert.equal(await createPowerSwitch({ driver: "simulated" }, d), d.sim);
  const i2c = await createPowerSwitch(
    JSON.parse(JSON.stringify(defaultI2cPowerConfig(buildNodeMap().bays, { sense: false }))),
    d,
  );
  assert.equal(i2c.name, "i2c");
  await i2c.set(42, "on");
  assert.equal(await i2c.read(42), "on");
  await assert.rejects(
    createPowerSwitch({ driver: "gpio", backend: "sysfs", lines: [{ node: 1, gpio: 4 }] }, d),
    /no GPIO in this test/,
  );
});

Deno.test("createPowerSwitch rejects a bad config with a PowerConfigError (invalid_body)", async () => {
  await assert.rejects(
    createPowerSwitch({ driver: "i2c", buses: [], nodes: [] }, deps()),
    (e) =>
      e instanceof PowerConfigError && layerErrorCode(e) === "invalid_body" &&
      /power config/.test(e.message),
  );
});

Deno.test("createPowerSwitch refuses nodes and buses the module does not have, naming its range", async () => {
  const refused = (config: unknown, nodeCount: NodeCount, message: RegExp) =>
    assert.rejects(
      createPowerSwitch(config, { ...deps(), map: buildNodeMap({ nodeCount }) }),
      (e) =>
        e instanceof PowerConfigError && layerErrorCode(e) === "invalid_body" &&
        message.test(e.message),
    );
  await refused(
    { driver: "gpio", backend: "sysfs", lines: [{ node: 61, gpio: 4 }] },
    60,
    /lines\.0\.node: node 61 does not exist: this module has nodes 1 to 60/,
  );
  // The 60-bay wiring on the 12-bay shape: bays 13-60 and BitBars 3-10 have no place.
  await refused(
    JSON.parse(JSON.stringify(defaultI2cPowerConfig(buildNodeMap().bays))),
    12,
    /buses\.2\.bus: bus 3 does not exist: this module has buses 1 to 2.*nodes\.12\.node: node 13 does not exist: this module has nodes 1 to 12/,
  );
  const fits = await createPowerSwitch(
    JSON.parse(JSON.stringify(defaultI2cPowerConfig(buildNodeMap({ nodeCount: 12 }).bays))),
    {
      ...deps(),
      map: buildNodeMap({ nodeCount: 12 }),
    },
  );
  assert.equal(fits.name, "i2c");
  await fits.close();
});
