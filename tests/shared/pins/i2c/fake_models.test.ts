import assert from "node:assert/strict";
import { HardwareFault } from "../../../../shared/pins/errors.ts";
import { ERRNO, I2cError } from "../../../../shared/pins/i2c/i2c_error.ts";
import { ModelViolation } from "../../../support/fakes/i2c/fake_device.ts";
import { FakeI2cBus } from "../../../support/fakes/i2c/fake_bus.ts";
import { Mcp23017Model } from "../../../support/fakes/i2c/fake_mcp23017.ts";
import { Pca9555Model } from "../../../support/fakes/i2c/fake_pca9555.ts";

Deno.test("MCP23017 model: GPIO reads pin levels, outputs show OLAT, inputs the outside", async () => {
  const chip = new Mcp23017Model();
  const bus = new FakeI2cBus().attach(0x20, chip);
  assert.equal(await bus.readByteData(0x20, 0x00), 0xff); // IODIRA resets to inputs
  chip.drive(3, 1);
  assert.equal(await bus.readByteData(0x20, 0x12), 0b0000_1000);
  await bus.writeByteData(0x20, 0x14, 0b0000_0001); // OLATA: latch only, pins still inputs
  assert.equal(await bus.readByteData(0x20, 0x12), 0b0000_1000);
  await bus.writeByteData(0x20, 0x00, 0b1111_1110); // pin 0 output
  assert.equal(await bus.readByteData(0x20, 0x12), 0b0000_1001);
  await bus.writeByteData(0x20, 0x02, 0b0000_1000); // IPOLA inverts input pin 3
  assert.equal(await bus.readByteData(0x20, 0x12), 0b0000_0001);
  await bus.writeByteData(0x20, 0x0d, 0x01); // GPPUB pull-up on pin 8
  assert.equal(await bus.readByteData(0x20, 0x13), 0x01);
  assert.deepEqual(chip.driveLog, [{ write: 2, pin: 0, driven: 1 }]);
});

Deno.test("MCP23017 model rejects read-only, unknown and BANK=1 writes", async () => {
  const chip = new Mcp23017Model();
  const bus = new FakeI2cBus().attach(0x21, chip);
  await assert.rejects(bus.writeByteData(0x21, 0x0e, 0), /0x0e \(INTFA\) is read-only/);
  await assert.rejects(bus.writeByteData(0x21, 0x11, 0), /INTCAPB\) is read-only/);
  await assert.rejects(bus.writeByteData(0x21, 0x16, 0), /unknown register 0x16/);
  await assert.rejects(bus.readByteData(0x21, 0x40), /unknown register 0x40/);
  await assert.rejects(bus.writeByteData(0x21, 0x0a, 0x80), /BANK = 1/);
  assert.equal(chip.violations.length, 5);
  assert.ok(chip.violations.every((v) => v instanceof ModelViolation));
});

Deno.test("PCA9555 model: input registers read-only, idle inputs high, pointer pairs", async () => {
  const chip = new Pca9555Model();
  const bus = new FakeI2cBus().attach(0x22, chip);
  assert.equal(await bus.readByteData(0x22, 0), 0xff);
  await assert.rejects(bus.writeByteData(0x22, 0, 0), /Input port 0\) is read-only/);
  await assert.rejects(bus.writeByteData(0x22, 1, 0), /read-only/);
  await assert.rejects(bus.writeByteData(0x22, 8, 0), /unknown register 0x08/);
  await bus.i2cWrite(0x22, 3, Uint8Array.of(2, 0xfe, 0x7f)); // outputs 0 and 1
  assert.equal(chip.register(2), 0xfe);
  assert.equal(chip.register(3), 0x7f);
  await bus.i2cWrite(0x22, 3, Uint8Array.of(6, 0xfe, 0xff)); // pin 0 output, drives 0
  const buf = new Uint8Array(2);
  await bus.i2cWrite(0x22, 1, Uint8Array.of(0));
  await bus.i2cRead(0x22, 2, buf);
  assert.deepEqual([...buf], [0xfe, 0xff]);
});

Deno.test("absent or NAKing addresses fail with the real bus's typed ENXIO error", async () => {
  const bus = new FakeI2cBus("/dev/i2c-3").attach(0x20, new Mcp23017Model());
  const err = await bus.readByteData(0x24, 0x12).then(() => null, (e) => e);
  assert.ok(err instanceof I2cError && err instanceof HardwareFault);
  assert.equal(err.errno, ERRNO.ENXIO);
  assert.match(err.message, /no ACK from the device at 0x24 on \/dev\/i2c-3/);
  bus.nak(0x20);
  await assert.rejects(bus.writeByteData(0x20, 0x14, 0), I2cError);
  bus.nak(0x20, false);
  await bus.writeByteData(0x20, 0x14, 0);
});

Deno.test("rails follow the control pin, or stick; sense pins read the rail", async () => {
  const chip = new Mcp23017Model();
  const bus = new FakeI2cBus().attach(0x20, chip);
  const withSense = chip.addRail({ control: 0, sense: 8 });
  const bare = chip.addRail({ control: 1, activeLow: true });
  await bus.writeByteData(0x20, 0x14, 0b10); // node on pin 1 is active-low: off
  await bus.writeByteData(0x20, 0x00, 0b1111_1100);
  assert.equal(chip.railState(bare), "off");
  await bus.writeByteData(0x20, 0x14, 0b01);
  assert.equal(chip.railState(withSense), "on");
  assert.equal(chip.railState(bare), "on");
  assert.equal((await bus.readByteData(0x20, 0x13)) & 1, 1);
  withSense.stuck = "off";
  assert.equal((await bus.readByteData(0x20, 0x13)) & 1, 0);
  assert.equal((await bus.readByteData(0x20, 0x12)) & 1, 1); // the pin itself is fine
  bare.stuck = "off"; // no sense pin: the stuck rail holds the control line high
  assert.equal((await bus.readByteData(0x20, 0x12)) & 0b10, 0b10);
  assert.equal(chip.register(0x14) & 0b10, 0); // while the latch says low
  assert.deepEqual(chip.railLog.map((r) => [r.control, r.state]), [
    [1, "off"], // MCP23017 inputs idle low: an active-low rail is on until the pin is driven
    [0, "on"],
    [1, "on"],
  ]);
});
