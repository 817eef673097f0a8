/**
 * Config → switch: builds the configured `PowerSwitch` (the simulated module, one GPIO line
 * per node, I2C GPIO expanders, or QEMU guests). Hardware access comes in through `deps`, so the factory
 * itself is testable; `openConfiguredPowerSwitch` supplies the real openers (`/dev/i2c-N`,
 * Pi GPIO backends from shared/pins/) and names the config file in its errors.
 */
import { parseOrThrow } from "../../shared/schemas.ts";
import { EXPANDER_MAPS } from "../../shared/pins/expander/chips.ts";
import { PortExpander } from "../../shared/pins/expander/port_expander.ts";
import type { BinaryValue, Direction, GpioLine } from "../../shared/pins/gpio_line.ts";
import { openDevI2cBus } from "../../shared/pins/i2c/dev_i2c.ts";
import { hex, type I2cBus } from "../../shared/pins/i2c/i2c_bus.ts";
import { openGpioLine } from "../../shared/pins/open.ts";
import { HardwareError, HardwareFault } from "../../shared/pins/errors.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import { readJsonConfig } from "../config_file.ts";
import { levelFor, LinePowerSwitch, type NodeLines } from "./line_power_switch.ts";
import {
  type GpioBackend,
  type GpioPowerConfig,
  type I2cPowerConfig,
  PowerConfig,
  powerConfigMisfits,
} from "./power_config.ts";
import type { PowerSwitch } from "./power_switch.ts";
import { PowerConfigError } from "./errors.ts";
import { type QemuHost, QemuPowerSwitch } from "./qemu_power_switch.ts";

/** What the factory needs from the outside world. */
export interface PowerSwitchDeps {
  /** The module the config must fit: its nodes and BitBar buses. */
  map: NodeMap;
  /** Opens /dev/i2c-N (production: `openDevI2cBus` from shared/pins/i2c/dev_i2c.ts). */
  openI2cBus: I2cBusOpener;
  /** Opens a Pi GPIO line with the named backend (shared/pins/). */
  openGpioLine: GpioLineOpener;
  /** Returns the simulated module (the hub keeps it to wire the virtual cluster). */
  simulated: () => PowerSwitch;
  /** Starts and watches QEMU guests (default: the real host). */
  qemuHost?: QemuHost;
}

/**
 * Validates `config` (a `PowerConfigError` naming each bad field, and each node or bus the
 * module `deps.map` does not have) and builds the driver it names. Hardware errors while
 * opening surface as `HardwareFault`.
 */
export async function createPowerSwitch(
  config: unknown,
  deps: PowerSwitchDeps,
): Promise<PowerSwitch> {
  // The same file may list the bays' consoles (hub/console/console_config.ts reads those).
  const power = typeof config === "object" && config !== null && "consoles" in config
    ? Object.fromEntries(Object.entries(config).filter(([k]) => k !== "consoles"))
    : config;
  const cfg = parseOrThrow(
    PowerConfig,
    power,
    "power config",
    (message, problems) => new PowerConfigError(message, problems),
  );
  const misfits = powerConfigMisfits(cfg, deps.map);
  if (misfits.length > 0) {
    throw new PowerConfigError(`invalid power config: ${misfits.join("; ")}`, misfits);
  }
  switch (cfg.driver) {
    case "simulated":
      return deps.simulated();
    case "gpio":
      return await createGpioPowerSwitch(cfg, deps.openGpioLine);
    case "i2c":
      return await createExpanderPowerSwitch(cfg, deps.openI2cBus);
    case "qemu":
      return new QemuPowerSwitch(cfg, deps.qemuHost);
  }
}

// The `gpio` driver: one Pi GPIO line per node, opened through a backend-agnostic opener.

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

// The `i2c` driver: node rails switched by pins of MCP23017 / PCA9555-class expanders, one
// I2C bus per BitBar, optionally sensed by a second pin of the same chip.

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
        throw new HardwareFault(`node ${n.node}: bus ${n.bus} has no chip at ${hex(n.chip)}`);
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
    return new LinePowerSwitch("i2c", nodes, closeAll, { readbackMs: config.readbackMs });
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * The backend power lines are opened with. Only sysfs keeps a line driven after the hub exits:
 * a chardev line is released with its file descriptor, and the Pi's pin controller then makes
 * it an input (gpio-sim puts it back to its pull: the kernel suite shows it), so every hub
 * restart would cut the nodes' power. `auto` therefore means sysfs here, and chardev is refused.
 */
export function powerLineBackend(backend: GpioBackend): GpioBackend {
  if (backend === "chardev") {
    throw new PowerConfigError(
      'backend "chardev" cannot hold power lines: the kernel releases a chardev line when the ' +
        "hub exits and the pin becomes an input, cutting power to running nodes on every hub " +
        'restart; use "sysfs" (docs/power-drivers.md)',
    );
  }
  return backend === "auto" ? "sysfs" : backend;
}

/**
 * Reads `path` and builds its driver for the module `map`; `simulated` supplies the simulated
 * module.
 */
export async function openConfiguredPowerSwitch(
  path: string,
  simulated: () => PowerSwitch,
  map: NodeMap,
): Promise<PowerSwitch> {
  const config = readJsonConfig(path, "power config");
  try {
    return await createPowerSwitch(config, {
      map,
      openI2cBus: openDevI2cBus,
      openGpioLine: (gpio, direction, backend, initial) =>
        openGpioLine({ gpio, direction, backend: powerLineBackend(backend), initial }),
      simulated,
    });
  } catch (e) {
    // Every hardware-layer error keeps its type and names the file it came from.
    if (e instanceof HardwareError) e.message = `${path}: ${e.message}`;
    throw e;
  }
}
