/** Typed errors of the GPIO backends. */
import { HardwareFaultError } from "../errors.ts";

/** A GPIO backend cannot be used on this machine (interface absent, no permission, no chip). */
export class GpioUnavailableError extends HardwareFaultError {
  /** Which backend gave up: "sysfs", "chardev" or "auto". */
  readonly backend: string;

  constructor(backend: string, message: string, details?: unknown) {
    super(`${backend} GPIO unavailable: ${message}`, details);
    this.name = "GpioUnavailableError";
    this.backend = backend;
  }
}

/** Labels of the Raspberry Pi's main GPIO controller (BCM2835/6/7, BCM2711, BCM2712, RP1). */
export const PI_MAIN_CHIP_LABELS: readonly string[] = [
  "pinctrl-bcm2835",
  "pinctrl-bcm2711",
  "pinctrl-bcm2712",
  "pinctrl-rp1",
];

/** True if `label` names the Pi's main GPIO controller. */
export function isPiMainChip(label: string): boolean {
  return PI_MAIN_CHIP_LABELS.includes(label.trim());
}
