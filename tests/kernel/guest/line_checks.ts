/**
 * The line backends and the I2C bus on the real kernel: chardev (GPIO uAPI v2) and sysfs
 * against gpio-sim, /dev/i2c-N with the MCP23017 and PCA9555 drivers against i2c-stub, each
 * checked from outside (gpio-sim's values, busybox i2cget/i2cset).
 */
import { check, checkThrows, note } from "./check.ts";
import { i2cget, i2cset, setPull, type SimChip, simValue } from "./kernel.ts";
import { listGpioChips, openChardevLine } from "../../../shared/pins/chardev.ts";
import { openGpioLine } from "../../../shared/pins/open.ts";
import { DevI2cBus, openDevI2cBus } from "../../../shared/pins/i2c/dev_i2c.ts";
import { PortExpander } from "../../../shared/pins/expander/port_expander.ts";
import { MCP23017 } from "../../../shared/pins/expander/mcp23017.ts";
import { PCA9555 } from "../../../shared/pins/expander/pca9555.ts";

/** chardev and sysfs lines on the gpio-sim chip. */
export async function gpioBackendChecks(chip: SimChip): Promise<void> {
  note(
    `gpio-sim ${chip.dev} (${chip.dir}), base ${chip.base}; chips: ${listGpioChips().join(" ")}`,
  );
  const line = openChardevLine({ gpio: 21, direction: "out", initial: 0 });
  check(
    "chardev: line 21 requested on the chip labelled pinctrl-bcm2835, low",
    simValue(chip, 21) === 0,
  );
  await line.write(1);
  check(
    "chardev: write(1) -> gpio-sim sees 1, read() 1",
    simValue(chip, 21) === 1 && (await line.read()) === 1,
  );
  await line.write(0);
  check("chardev: write(0) -> gpio-sim sees 0", simValue(chip, 21) === 0);
  await checkThrows(
    "chardev: a second request of line 21 -> EBUSY",
    () => openChardevLine({ gpio: 21, direction: "out", chip: chip.dev }),
    /EBUSY/,
  );
  await line.unexport();
  await checkThrows("chardev: write after release throws", () => line.write(1), /released/);
  await checkThrows(
    "chardev: line 64 of a 64-line chip -> EINVAL",
    () => openChardevLine({ gpio: 64, direction: "out", chip: chip.dev }),
    /EINVAL/,
  );
  // Why power lines never use chardev: a released output does not keep its level.
  const held = openChardevLine({ gpio: 22, direction: "out", chip: chip.dev, initial: 1 });
  const whileHeld = simValue(chip, 22);
  await held.unexport();
  check(
    "chardev: a released output goes back to its pull (why power lines use sysfs)",
    whileHeld === 1 && simValue(chip, 22) === 0,
    `${whileHeld} -> ${simValue(chip, 22)}`,
  );
  const inp = await openGpioLine({ backend: "chardev", gpio: 20, direction: "in" });
  setPull(chip, 20, true);
  const up = await inp.read();
  setPull(chip, 20, false);
  check("chardev: input line 20 follows gpio-sim's pull", up === 1 && (await inp.read()) === 0);
  await inp.unexport();

  const sy = await openGpioLine({ backend: "sysfs", gpio: 21, direction: "out" });
  const dir = `/sys/class/gpio/gpio${chip.base + 21}`;
  check(`sysfs: exported at the kernel's base (${chip.base} + 21)`, Deno.statSync(dir).isDirectory);
  await sy.write(1);
  check("sysfs: write(1) -> gpio-sim sees 1", simValue(chip, 21) === 1 && (await sy.read()) === 1);
  // A second open of an exported output (a restarted hub) keeps its level.
  const again = await openGpioLine({ backend: "sysfs", gpio: 21, direction: "out", initial: 0 });
  check(
    "sysfs: reopening an exported output keeps it high",
    simValue(chip, 21) === 1 && (await again.read()) === 1,
  );
  await sy.write(0);
  await sy.unexport();
  let gone = false;
  try {
    Deno.statSync(dir);
  } catch {
    gone = true;
  }
  check("sysfs: unexport removes the line", gone);
  const auto = await openGpioLine({ backend: "auto", gpio: 21, direction: "out" });
  check(
    "auto picks chardev on this kernel",
    auto.constructor.name === "ChardevGpioLine",
    auto.constructor.name,
  );
  await auto.unexport();
}

/** /dev/i2c-0 (i2c-stub at 0x20, 0x21) with the expander drivers. */
export async function i2cBusChecks(): Promise<void> {
  for (
    const [a, r, v] of [[0x20, 0, 0xff], [0x20, 1, 0xff], [0x21, 6, 0xff], [0x21, 7, 0xff], [
      0x21,
      2,
      0xff,
    ], [0x21, 3, 0xff]]
  ) {
    await i2cset(0, a, r, v);
  }
  const bus = await openDevI2cBus(0);
  await bus.writeByteData(0x20, 0x16, 0xa5);
  check("i2c: writeByteData seen by i2cget", (await i2cget(0, 0x20, 0x16)) === 0xa5);
  await i2cset(0, 0x20, 0x17, 0x3c);
  check("i2c: readByteData sees i2cset's write", (await bus.readByteData(0x20, 0x17)) === 0x3c);
  const mcp = await PortExpander.open(bus, 0x20, MCP23017);
  const p3 = await mcp.output(3, 1);
  await mcp.output(9, 0);
  check(
    "MCP23017: output(3,1) -> OLATA 0x08, IODIRA 0xf7",
    (await i2cget(0, 0x20, 0x14)) === 0x08 && (await i2cget(0, 0x20, 0)) === 0xf7,
  );
  check("MCP23017: output(9,0) -> IODIRB 0xfd", (await i2cget(0, 0x20, 1)) === 0xfd);
  await p3.write(0);
  check("MCP23017: write(0) -> OLATA 0", (await i2cget(0, 0x20, 0x14)) === 0);
  await i2cset(0, 0x20, 0x12, 0x08);
  check("MCP23017: read() from GPIOA", (await p3.read()) === 1);
  await i2cset(0, 0x20, 0x0a, 0x80);
  await checkThrows(
    "MCP23017: IOCON.BANK=1 refused",
    () => PortExpander.open(bus, 0x20, MCP23017),
    /BANK = 1/,
  );
  await i2cset(0, 0x20, 0x0a, 0);
  const pca = await PortExpander.open(bus, 0x21, PCA9555);
  const q0 = await pca.output(0, 0);
  check(
    "PCA9555: output(0,0) -> out0 0xfe, cfg0 0xfe",
    (await i2cget(0, 0x21, 2)) === 0xfe && (await i2cget(0, 0x21, 6)) === 0xfe,
  );
  await q0.write(1);
  check("PCA9555: write(1) -> out0 0xff", (await i2cget(0, 0x21, 2)) === 0xff);
  await checkThrows(
    "i2c: absent address 0x24 -> errno",
    () => bus.readByteData(0x24, 0),
    /ENXIO|ENODEV|EREMOTEIO|errno/,
  );
  await checkThrows("i2c: /dev/i2c-7 -> ENOENT", () => openDevI2cBus(7), /ENOENT/);
  await checkThrows(
    "i2c: /dev/gpiochip0 is not an I2C adapter",
    () => DevI2cBus.open("/dev/gpiochip0").readByteData(0x20, 0),
    /ENOTTY|EINVAL|not an I2C/,
  );
  await bus.close();
}
