/**
 * The `gpio` power driver: one Pi GPIO line per node, opened through a backend-agnostic
 * opener (sysfs / chardev / simulated backends live in shared/gpio/).
 */
import type { BinaryValue, Direction, GpioLine } from "../../shared/gpio/gpio_line.ts";
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

/**
 * Opens every line of `config` as an output at its off level (a line that is an output
 * already keeps its level), and each sense line as an input, and returns the switch.
 */
export async function createGpioPowerSwitch(
  config: GpioPowerConfig,
  openGpioLine: GpioLineOpener,
): Promise<LinePowerSwitch> {
  const nodes = new Map<number, NodeLines>();
  try {
    for (const l of config.lines) {
      const activeLow = l.activeLow ?? false;
      const control = await openGpioLine(l.gpio, "out", config.backend, levelFor("off", activeLow));
      const where = `GPIO ${l.gpio} (${config.backend})`;
      nodes.set(l.node, { control, activeLow, where });
      if (l.sense !== undefined) {
        const sense = await openGpioLine(l.sense, "in", config.backend);
        nodes.set(l.node, { control, sense, activeLow, where: `${where}, sense GPIO ${l.sense}` });
      }
    }
  } catch (e) {
    const lines = [...nodes.values()].flatMap((n) => n.sense ? [n.control, n.sense] : [n.control]);
    await Promise.allSettled(lines.map((l) => l.detach ? l.detach() : l.unexport()));
    throw e;
  }
  return new LinePowerSwitch("gpio", nodes, undefined, { readbackMs: config.readbackMs });
}
