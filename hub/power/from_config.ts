/**
 * Builds the configured `PowerSwitch`: the simulated module, one GPIO line per node, or I2C
 * GPIO expanders. Hardware access comes in through `deps`, so the factory itself is testable.
 */
import { parseOrThrow } from "../../shared/schemas.ts";
import { createExpanderPowerSwitch, type I2cBusOpener } from "./expander_power.ts";
import { createGpioPowerSwitch, type GpioLineOpener } from "./gpio_power.ts";
import { PowerConfig } from "./power_config.ts";
import type { PowerSwitch } from "./power_switch.ts";

/** What the factory needs from the outside world. */
export interface PowerSwitchDeps {
  /** Opens /dev/i2c-N (production: `openDevI2cBus` from hub/hardware/i2c/dev_i2c.ts). */
  openI2cBus: I2cBusOpener;
  /** Opens a Pi GPIO line with the named backend (shared/gpio/). */
  openGpioLine: GpioLineOpener;
  /** Returns the simulated module (the hub keeps it to wire the virtual cluster). */
  simulated: () => PowerSwitch;
}

/**
 * Validates `config` (a ClusterError `invalid_body` naming each bad field) and builds the
 * driver it names. Hardware errors while opening surface as HardwareFaultError.
 */
export async function createPowerSwitch(
  config: unknown,
  deps: PowerSwitchDeps,
): Promise<PowerSwitch> {
  const cfg = parseOrThrow(PowerConfig, config, "power config");
  switch (cfg.driver) {
    case "simulated":
      return deps.simulated();
    case "gpio":
      return await createGpioPowerSwitch(cfg, deps.openGpioLine);
    case "i2c":
      return await createExpanderPowerSwitch(cfg, deps.openI2cBus);
  }
}
