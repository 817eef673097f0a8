import assert from "node:assert/strict";
import { HardwareFault, PinError } from "../../../../shared/pins/errors.ts";
import { FakeI2cBus } from "../../../support/fakes/i2c/fake_bus.ts";
import { Mcp23017Model } from "../../../support/fakes/i2c/fake_mcp23017.ts";
import { Pca9555Model } from "../../../support/fakes/i2c/fake_pca9555.ts";
import type {
  TwoPortModel,
  TwoPortModelOptions,
} from "../../../support/fakes/i2c/fake_two_port.ts";
import { I2cError } from "../../../../shared/pins/i2c/i2c_error.ts";
import { MCP23017 } from "../../../../shared/pins/expander/mcp23017.ts";
import { PCA9555 } from "../../../../shared/pins/expander/pca9555.ts";
import { PortExpander } from "../../../../shared/pins/expander/port_expander.ts";
import type { ExpanderRegisterMap } from "../../../../shared/pins/expander/register_map.ts";

interface Case {
  name: string;
  map: ExpanderRegisterMap;
  model: (opts?: TwoPortModelOptions) => TwoPortModel;
}

const CASES: Case[] = [
  { name: "MCP23017", map: MCP23017, model: (o) => new Mcp23017Model(o) },
  { name: "PCA9555", map: PCA9555, model: (o) => new Pca9555Model(o) },
];

/** Asserts the chip drove `pin` exactly through `levels` (no glitch on the way). */
function assertDriven(model: TwoPortModel, pin: number, levels: (0 | 1 | null)[]): void {
  assert.deepEqual(model.driveLog.filter((c) => c.pin === pin).map((c) => c.driven), levels);
}

async function setup(c: Case, opts?: TwoPortModelOptions) {
  const model = c.model(opts);
  const bus = new FakeI2cBus("/dev/i2c-1").attach(0x20, model);
  const chip = await PortExpander.open(bus, 0x20, c.map);
  return { model, bus, chip };
}

for (const c of CASES) {
  const { direction: dir, latch, pins } = c.map;

  Deno.test(`${c.name}: a new output pin gets its latch before its direction (no glitch)`, async () => {
    // Latch bits set to 1 (PCA9555 reset value; on the MCP23017 left there by earlier software).
    const { model, chip } = await setup(c, { initial: { [latch[0]]: 0xff, [latch[1]]: 0xff } });
    await chip.output(2, 0);
    await chip.output(9, 0);
    assertDriven(model, 2, [0]);
    assertDriven(model, 9, [0]);
    assert.deepEqual(model.violations, []);
  });

  Deno.test(`${c.name}: the glitch check catches a driver that sets direction first`, async () => {
    const model = c.model({ initial: { [latch[0]]: 0xff } });
    const bus = new FakeI2cBus().attach(0x20, model);
    await bus.writeByteData(0x20, dir[0], 0xfb); // wrong order: pin 2 drives the stale 1…
    await bus.writeByteData(0x20, latch[0], 0xfb); // …until the latch is fixed
    assert.throws(() => assertDriven(model, 2, [0]));
    assertDriven(model, 2, [1, 0]);
  });

  Deno.test(`${c.name}: other pins' direction and latch bits are never clobbered`, async () => {
    const { model, bus, chip } = await setup(c, {
      initial: { [dir[0]]: 0b0101_1111, [latch[0]]: 0b1010_0000, [dir[1]]: 0xfe, [latch[1]]: 1 },
    });
    const before = [5, 7, 8].map((p) => model.driven(p));
    const line = await chip.output(0, 0);
    await line.write(1);
    await line.write(0);
    await chip.input(12);
    assert.deepEqual([5, 7, 8].map((p) => model.driven(p)), before);
    assert.equal(model.register(dir[0]), 0b0101_1110);
    assert.equal(model.register(latch[0]), 0b1010_0000);
    assert.equal(model.register(dir[1]), 0xfe | 0x10);
    // Every write went to a register of the map, none to the pin/input register.
    const allowed = new Set([...dir, ...latch, ...c.map.polarity]);
    assert.ok(bus.log.filter((t) => t.op === "write").every((t) => allowed.has(t.reg)));
    assert.deepEqual(model.violations, []);
  });

  Deno.test(`${c.name}: a pin that already is an output keeps its level`, async () => {
    const { model, bus, chip } = await setup(c, { initial: { [dir[0]]: 0xfe, [latch[0]]: 0x01 } });
    await chip.output(0, 0);
    assert.equal(model.driven(0), 1);
    assert.ok(!bus.log.some((t) => t.op === "write"));
  });

  Deno.test(`${c.name}: concurrent writes to neighbouring pins both land`, async () => {
    const { model, chip } = await setup(c, { initial: { [latch[0]]: 0 } });
    const lines = await Promise.all([0, 1, 2, 3].map((p) => chip.output(p, 0)));
    await Promise.all(lines.map((l) => l.write(1)));
    assert.equal(model.register(latch[0]) & 0x0f, 0x0f);
    await Promise.all([lines[0].write(0), lines[3].write(0)]);
    assert.equal(model.register(latch[0]) & 0x0f, 0b0110);
  });

  Deno.test(`${c.name}: read() returns the pin level from the chip, not the latch`, async () => {
    const { model, bus, chip } = await setup(c);
    const rail = model.addRail({ control: 4 });
    const line = await chip.output(4, 0);
    await line.write(1);
    assert.equal(await line.read(), 1);
    rail.stuck = "off";
    assert.equal(await line.read(), 0);
    assert.equal(bus.log.at(-1)?.reg, pins[0]);
  });

  Deno.test(`${c.name}: input pins get polarity cleared and cannot be written`, async () => {
    const { model, chip } = await setup(c, { initial: { [c.map.polarity[1]]: 0xff, [dir[1]]: 0 } });
    const sense = await chip.input(8);
    assert.equal(model.isOutput(8), false);
    assert.equal(model.register(c.map.polarity[1]), 0xfe);
    model.drive(8, 0);
    assert.equal(await sense.read(), 0);
    model.drive(8, 1);
    assert.equal(await sense.read(), 1);
    await assert.rejects(sense.write(1), /is an input/);
  });

  Deno.test(`${c.name}: claims are checked, and released lines refuse use`, async () => {
    const { chip } = await setup(c);
    const line = await chip.output(1, 0);
    await assert.rejects(
      chip.output(1, 0),
      (e) => e instanceof PinError && e.reason === "in_use",
    );
    await assert.rejects(chip.input(16), /pins 0–15, not 16/);
    await line.unexport();
    await line.unexport();
    await assert.rejects(line.write(1), /was released/);
    await chip.output(1, 0); // free again
  });

  Deno.test(`${c.name}: a failed write is a typed error and the latch is re-read after it`, async () => {
    const { model, bus, chip } = await setup(c, { initial: { [latch[0]]: 0 } });
    const line = await chip.output(0, 0);
    bus.nak(0x20);
    await assert.rejects(
      line.write(1),
      (e) => e instanceof I2cError && e instanceof HardwareFault,
    );
    bus.nak(0x20, false);
    // Meanwhile something else changed pin 6's latch bit: the re-read keeps it.
    await bus.writeByteData(0x20, latch[0], 0x40);
    await line.write(1);
    assert.equal(model.register(latch[0]), 0x41);
  });

  Deno.test(`${c.name}: an absent chip fails open() with a NAK error`, async () => {
    const bus = new FakeI2cBus("/dev/i2c-2");
    await assert.rejects(PortExpander.open(bus, 0x27, c.map), /no ACK from the device at 0x27/);
  });
}

Deno.test("MCP23017 with IOCON.BANK = 1 is refused with a clear error", async () => {
  const bus = new FakeI2cBus("/dev/i2c-1").attach(
    0x20,
    new Mcp23017Model({ initial: { 0x0a: 0x80 } }),
  );
  await assert.rejects(
    PortExpander.open(bus, 0x20, MCP23017),
    (e) => e instanceof HardwareFault && /IOCON\.BANK = 1/.test(e.message),
  );
});
