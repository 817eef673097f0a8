import assert from "node:assert/strict";
import { HardwareFault } from "../../../shared/pins/errors.ts";
import { buildNodeMap, busSlotOf } from "../../../shared/node_map.ts";
import { FakeI2cBus } from "../../support/fakes/i2c/fake_bus.ts";
import { Mcp23017Model } from "../../support/fakes/i2c/fake_mcp23017.ts";
import { Pca9555Model } from "../../support/fakes/i2c/fake_pca9555.ts";
import type { Rail, TwoPortModel } from "../../support/fakes/i2c/fake_two_port.ts";
import { createExpanderPowerSwitch, type I2cBusOpener } from "../../../hub/power/from_config.ts";
import {
  defaultI2cPowerConfig,
  type I2cPowerConfig,
  PowerConfig,
} from "../../../hub/power/power_config.ts";

/** The bays of BitBar 1 (six), wired alone. */
const FIRST_BITBAR = buildNodeMap().bays.filter((b) => b.bus === 1);

/** A module of fake buses: /dev/i2c-N → bus with one modelled chip at 0x20 and its rails. */
function fakeModule(nodeCount: number, makeChip: () => TwoPortModel = () => new Mcp23017Model()) {
  const buses = new Map<number, FakeI2cBus>();
  const chips = new Map<number, TwoPortModel>();
  const rails = new Map<number, Rail>();
  for (let b = 1; b <= nodeCount / 6; b++) {
    const chip = makeChip();
    chips.set(b, chip);
    buses.set(b, new FakeI2cBus(`/dev/i2c-${b}`).attach(0x20, chip));
  }
  for (let node = 1; node <= nodeCount; node++) {
    const { bus, slot } = busSlotOf(node);
    rails.set(node, chips.get(bus)!.addRail({ control: slot - 1, sense: 8 + slot - 1 }));
  }
  const opened: number[] = [];
  const open: I2cBusOpener = (n) => {
    opened.push(n);
    const bus = buses.get(n);
    return bus ? Promise.resolve(bus) : Promise.reject(new Error(`no /dev/i2c-${n}`));
  };
  return { buses, chips, rails, open, opened };
}

Deno.test("60-node default wiring: every node switches and reads back from its rail", async () => {
  const m = fakeModule(60);
  const sw = await createExpanderPowerSwitch(defaultI2cPowerConfig(buildNodeMap().bays), m.open);
  assert.equal(sw.name, "i2c");
  assert.deepEqual(m.opened, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (let node = 1; node <= 60; node++) assert.equal(await sw.read(node), "off");
  for (const chip of m.chips.values()) assert.deepEqual(chip.railLog, []); // nothing glitched on
  await sw.set(7, "on");
  await sw.set(60, "on");
  for (let node = 1; node <= 60; node++) {
    const want = node === 7 || node === 60 ? "on" : "off";
    assert.equal(await sw.read(node), want, `node ${node}`);
    assert.equal(m.chips.get(busSlotOf(node).bus)!.railState(m.rails.get(node)!), want);
  }
  await sw.set(7, "off");
  assert.equal(await sw.read(7), "off");
  for (const chip of m.chips.values()) assert.deepEqual(chip.violations, []);
  await sw.close();
  assert.ok([...m.buses.values()].every((b) => b.closed));
});

Deno.test("a stuck rail fails set() and is seen by read() through the sense pin", async () => {
  const m = fakeModule(12);
  const sw = await createExpanderPowerSwitch(
    defaultI2cPowerConfig(buildNodeMap({ nodeCount: 12 }).bays),
    m.open,
  );
  m.rails.get(9)!.stuck = "off";
  // The control pin itself takes the level, but the rail does not come up within the window.
  await assert.rejects(
    sw.set(9, "on"),
    (e) =>
      e instanceof HardwareFault &&
      /node 9: power on did not take: the rail sense .*sense pin 10\) reads 0/.test(e.message),
  );
  assert.equal(await sw.read(9), "off");
});

Deno.test("without sense pins read() is the pin level, and a held line fails set()", async () => {
  const m = fakeModule(6);
  // Rebuild rails without sense pins.
  const chip = new Mcp23017Model();
  m.buses.set(1, new FakeI2cBus("/dev/i2c-1").attach(0x20, chip));
  const rail = chip.addRail({ control: 2 });
  const sw = await createExpanderPowerSwitch(
    defaultI2cPowerConfig(FIRST_BITBAR, { sense: false }),
    m.open,
  );
  await sw.set(3, "on");
  assert.equal(await sw.read(3), "on");
  rail.stuck = "off";
  assert.equal(await sw.read(3), "off"); // OLAT still says 1: a latch read would lie here
  assert.equal(chip.register(0x14) & 0b100, 0b100);
  await assert.rejects(
    sw.set(3, "on"),
    (e) =>
      e instanceof HardwareFault &&
      /node 3: power on did not take: BitBar 1: MCP23017 0x20 on \/dev\/i2c-1 pin 2/.test(
        e.message,
      ),
  );
});

Deno.test("a NAK while switching is a HardwareFault naming the node and chip", async () => {
  const m = fakeModule(12);
  const sw = await createExpanderPowerSwitch(
    defaultI2cPowerConfig(buildNodeMap({ nodeCount: 12 }).bays),
    m.open,
  );
  m.buses.get(2)!.nak(0x20);
  await assert.rejects(
    sw.set(8, "on"),
    (e) =>
      e instanceof HardwareFault &&
      /node 8: could not switch power on \(BitBar 2: MCP23017 0x20 on \/dev\/i2c-2 pin 1, sense pin 9\): .*no ACK/
        .test(e.message),
  );
  await assert.rejects(sw.read(8), /node 8: could not read power/);
  assert.equal(await sw.read(1), "off"); // bus 1 unaffected
});

Deno.test("active-low PCA9555 wiring: off is high, and idle pull-ups do not glitch nodes on", async () => {
  const m = fakeModule(6, () => new Pca9555Model());
  const chip = new Pca9555Model();
  m.buses.set(1, new FakeI2cBus("/dev/i2c-1").attach(0x20, chip));
  const rails = [1, 2, 3, 4, 5, 6].map((n) => chip.addRail({ control: n - 1, activeLow: true }));
  const cfg = defaultI2cPowerConfig(FIRST_BITBAR, {
    chip: "pca9555",
    sense: false,
    activeLow: true,
  });
  const sw = await createExpanderPowerSwitch(cfg, m.open);
  assert.ok(rails.every((r) => chip.railState(r) === "off"));
  assert.equal(chip.railLog.length, 0);
  await sw.set(4, "on");
  assert.equal(chip.driven(3), 0);
  assert.equal(await sw.read(4), "on");
  assert.deepEqual(chip.railLog.map((r) => [r.control, r.state]), [[3, "on"]]);
});

Deno.test("a hub restart keeps powered nodes powered", async () => {
  const m = fakeModule(6);
  const first = await createExpanderPowerSwitch(defaultI2cPowerConfig(FIRST_BITBAR), m.open);
  await first.set(2, "on");
  await first.close();
  const chip = m.chips.get(1)!;
  m.buses.set(1, new FakeI2cBus("/dev/i2c-1").attach(0x20, chip)); // the new process opens anew
  const before = chip.railLog.length;
  const again = await createExpanderPowerSwitch(defaultI2cPowerConfig(FIRST_BITBAR), m.open);
  assert.equal(await again.read(2), "on");
  assert.equal(chip.railLog.length, before);
});

Deno.test("a missing chip fails start-up and closes the buses already opened", async () => {
  const m = fakeModule(12);
  m.buses.set(2, new FakeI2cBus("/dev/i2c-2")); // BitBar 2's chip absent
  await assert.rejects(
    createExpanderPowerSwitch(defaultI2cPowerConfig(buildNodeMap({ nodeCount: 12 }).bays), m.open),
    (e) =>
      e instanceof HardwareFault &&
      /no ACK from the device at 0x20 on \/dev\/i2c-2/.test(e.message),
  );
  assert.ok(m.buses.get(1)!.closed && m.buses.get(2)!.closed);
});

Deno.test("several chips and BitBars on one adapter share one open bus", async () => {
  const bus = new FakeI2cBus("/dev/i2c-1").attach(0x20, new Mcp23017Model()).attach(
    0x21,
    new Pca9555Model(),
  );
  const opened: number[] = [];
  const cfg: I2cPowerConfig = PowerConfig.parse({
    driver: "i2c",
    buses: [
      { bus: 1, i2cDevice: 1, chips: [{ type: "mcp23017", address: "0x20" }] },
      { bus: 2, i2cDevice: 1, chips: [{ type: "pca9555", address: "0x21" }] },
    ],
    nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 0 }, { node: 7, bus: 2, chip: 0x21, pin: 15 }],
  }) as I2cPowerConfig;
  const sw = await createExpanderPowerSwitch(cfg, (n) => {
    opened.push(n);
    return Promise.resolve(bus);
  });
  assert.deepEqual(opened, [1]);
  await sw.set(7, "on");
  assert.equal(await sw.read(7), "on");
  assert.equal(await sw.read(1), "off");
});
