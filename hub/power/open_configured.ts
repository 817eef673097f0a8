/**
 * Opens the power driver named in a JSON config file, with the real hardware openers
 * (`/dev/i2c-N`, Pi GPIO backends). Errors name the file and what is wrong in it.
 */
import { ClusterError } from "../../shared/errors.ts";
import { openGpioLine } from "../../shared/gpio/open_line.ts";
import { openDevI2cBus } from "../hardware/i2c/dev_i2c.ts";
import { createPowerSwitch } from "./create_power_switch.ts";
import { readJsonConfig } from "../config_file.ts";
import type { GpioBackend } from "./power_config.ts";
import type { PowerSwitch } from "./power_switch.ts";

/**
 * The backend power lines are opened with. Only sysfs keeps a line driven after the hub exits:
 * a chardev line is released with its file descriptor, and the Pi's pin controller then makes
 * it an input (gpio-sim puts it back to its pull: the kernel suite shows it), so every hub
 * restart would cut the nodes' power. `auto` therefore means sysfs here, and chardev is refused.
 */
export function powerLineBackend(backend: GpioBackend): GpioBackend {
  if (backend === "chardev") {
    throw new ClusterError(
      "bad_request",
      'backend "chardev" cannot hold power lines: the kernel releases a chardev line when the ' +
        "hub exits and the pin becomes an input, cutting power to running nodes on every hub " +
        'restart; use "sysfs" (docs/power-drivers.md)',
    );
  }
  return backend === "auto" ? "sysfs" : backend;
}

/** Reads `path` and builds its driver; `simulated` supplies the simulated module. */
export async function openConfiguredPowerSwitch(
  path: string,
  simulated: () => PowerSwitch,
): Promise<PowerSwitch> {
  const config = readJsonConfig(path, "power config");
  try {
    return await createPowerSwitch(config, {
      openI2cBus: openDevI2cBus,
      openGpioLine: (gpio, direction, backend, initial) =>
        openGpioLine({ gpio, direction, backend: powerLineBackend(backend), initial }),
      simulated,
    });
  } catch (e) {
    if (e instanceof ClusterError) {
      throw new ClusterError(e.code, `${path}: ${e.message}`, e.details);
    }
    throw e;
  }
}
