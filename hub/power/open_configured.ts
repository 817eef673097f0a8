/**
 * Opens the power driver named in a JSON config file, with the real hardware openers
 * (`/dev/i2c-N`, Pi GPIO backends). Errors name the file and what is wrong in it.
 */
import { ClusterError } from "../../shared/errors.ts";
import { openGpioLine } from "../../shared/pins/open.ts";
import { openDevI2cBus } from "../../shared/pins/i2c/dev_i2c.ts";
import { createPowerSwitch } from "./from_config.ts";
import { readJsonConfig } from "../config_file.ts";
import type { PowerSwitch } from "./power_switch.ts";

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
        openGpioLine({ gpio, direction, backend, initial }),
      simulated,
    });
  } catch (e) {
    if (e instanceof ClusterError) {
      throw new ClusterError(e.code, `${path}: ${e.message}`, e.details);
    }
    throw e;
  }
}
