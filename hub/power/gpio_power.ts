/**
 * The `gpio` power driver: one Pi GPIO line per node, opened through a backend-agnostic
 * opener (sysfs / chardev / simulated backends live in shared/gpio/).
 */
import type { BinaryValue, Direction, GpioLine } from "../../shared/pins/gpio_line.ts";
import { levelFor, LinePowerSwitch, type NodeLines } from "./line_power_switch.ts";
import type { GpioBackend, GpioPowerConfig } from "./power_config.ts";

/**
 * Opens a GPIO line. `initial` is the level an output should drive if it is not an output
 * already (the "off" level): backends that can set direction and level at once (chardev,
 * sysfs "high"/"low") should use it so a node does not glitch on at start-up.
 */
export type GpioLineOpener = (
  gpio: number,
  direction: Direction,
  backend: GpioBackend,
  initial?: BinaryValue,
) => Promise<GpioLine>;

/** Opens every line of `config` as an output at its off level and returns the switch. */
export async function createGpioPowerSwitch(
  config: GpioPowerConfig,
  openGpioLine: GpioLineOpener,
): Promise<LinePowerSwitch> {
  const nodes = new Map<number, NodeLines>();
  try {
    for (const l of config.lines) {
      const activeLow = l.activeLow ?? false;
      const control = await openGpioLine(l.gpio, "out", config.backend, levelFor("off", activeLow));
      nodes.set(l.node, { control, activeLow, where: `GPIO ${l.gpio} (${config.backend})` });
    }
  } catch (e) {
    await Promise.allSettled([...nodes.values()].map((n) => n.control.unexport()));
    throw e;
  }
  return new LinePowerSwitch("gpio", nodes);
}
