/**
 * The `i2c` power driver: node rails switched by pins of MCP23017 / PCA9555-class expanders,
 * one I2C bus per BitBar, optionally sensed by a second pin of the same chip.
 */
import { HardwareFaultError } from "../../shared/errors.ts";
import type { I2cBus } from "../../shared/pins/i2c/i2c_bus.ts";
import { hex } from "../../shared/pins/i2c/i2c_bus.ts";
import { EXPANDER_MAPS } from "../../shared/pins/expander/chips.ts";
import { PortExpander } from "../../shared/pins/expander/port_expander.ts";
import { levelFor, LinePowerSwitch, type NodeLines } from "./line_power_switch.ts";
import type { I2cPowerConfig } from "./power_config.ts";

/** Opens Linux I2C adapter `/dev/i2c-<n>`. */
export type I2cBusOpener = (n: number) => Promise<I2cBus>;

/**
 * Opens every bus and chip of `config` (a bus shared by several BitBars is opened once),
 * claims each node's pins (control as output at its off level unless already an output,
 * sense as input) and returns the switch. On failure, everything opened is closed again.
 */
export async function createExpanderPowerSwitch(
  config: I2cPowerConfig,
  openI2cBus: I2cBusOpener,
): Promise<LinePowerSwitch> {
  const opened = new Map<number, I2cBus>();
  const closeAll = async () => {
    await Promise.allSettled([...opened.values()].map((b) => b.close()));
  };
  try {
    const chips = new Map<string, PortExpander>();
    for (const b of config.buses) {
      let bus = opened.get(b.i2cDevice);
      if (!bus) {
        bus = await openI2cBus(b.i2cDevice);
        opened.set(b.i2cDevice, bus);
      }
      for (const c of b.chips) {
        chips.set(
          `${b.bus}/${c.address}`,
          await PortExpander.open(bus, c.address, EXPANDER_MAPS[c.type]),
        );
      }
    }
    const nodes = new Map<number, NodeLines>();
    for (const n of config.nodes) {
      const chip = chips.get(`${n.bus}/${n.chip}`);
      if (!chip) {
        throw new HardwareFaultError(`node ${n.node}: bus ${n.bus} has no chip at ${hex(n.chip)}`);
      }
      const activeLow = n.activeLow ?? false;
      const control = await chip.output(n.pin, levelFor("off", activeLow));
      const sense = n.sensePin === undefined ? undefined : await chip.input(n.sensePin);
      const senseText = sense ? `, sense pin ${n.sensePin}` : "";
      nodes.set(n.node, {
        control,
        sense,
        activeLow,
        where: `BitBar ${n.bus}: ${chip.label} pin ${n.pin}${senseText}`,
      });
    }
    return new LinePowerSwitch("i2c", nodes, closeAll);
  } catch (e) {
    await closeAll();
    throw e;
  }
}
