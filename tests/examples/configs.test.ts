/**
 * The example hardware configs in examples/config/ load the way the hub loads them: the power
 * driver is built from each (over fake I2C chips and simulated GPIO lines: the schema and its
 * cross-checks run, every line is opened), and the consoles parse into sources for the bays
 * they name.
 */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { readJsonConfig } from "../../hub/config_file.ts";
import { loadConsoleSources } from "../../hub/console/console_config.ts";
import { createPowerSwitch } from "../../hub/power/from_config.ts";
import { defaultI2cPowerConfig } from "../../hub/power/power_config.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { FakeI2cBus } from "../support/fakes/i2c/fake_bus.ts";
import { Mcp23017Model } from "../support/fakes/i2c/fake_mcp23017.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";

const DIR = "examples/config";

/** What each example holds: its driver and the bays with consoles. */
const EXPECTED: Record<string, { driver: string; consoles: number[] }> = {
  "i2c-60-bays.json": { driver: "i2c", consoles: [1, 2, 3, 4] },
  "gpio-6-bays.json": { driver: "gpio", consoles: [1, 2] },
  "simulated-with-consoles.json": { driver: "simulated", consoles: [7, 8] },
};

Deno.test("every example hardware config builds its power driver and consoles", async () => {
  const files = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".json"))
    .sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort(), "each example is checked here");
  for (const name of files) {
    const path = `${DIR}/${name}`;
    const want = EXPECTED[name];
    const clock = new FakeClock();
    const sim = new SimulatedModule({ map: buildNodeMap(), clock });
    const power = await createPowerSwitch(readJsonConfig(path, "power config"), {
      map: buildNodeMap(),
      simulated: () => sim,
      openI2cBus: (n) =>
        Promise.resolve(
          new FakeI2cBus(`/dev/i2c-${n}`).attach(0x20, new Mcp23017Model()),
        ),
      openGpioLine: (gpio, direction, _backend, initial) =>
        Promise.resolve(new SimulatedGpioLine({ gpio, direction, clock, initial })),
    });
    assert.equal(power.name, want.driver, name);
    const consoles = loadConsoleSources(path, buildNodeMap());
    assert.deepEqual([...(consoles?.keys() ?? [])].sort((a, b) => a - b), want.consoles, name);
    await power.close();
  }
});

Deno.test("the 60-bay I2C example is the default wiring", () => {
  const example = readJsonConfig(`${DIR}/i2c-60-bays.json`, "power config") as Record<
    string,
    unknown
  >;
  delete example.consoles;
  assert.deepEqual(example, JSON.parse(JSON.stringify(defaultI2cPowerConfig(buildNodeMap().bays))));
});
