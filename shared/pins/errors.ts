/**
 * Errors of the hardware layers: pins, I2C buses, expanders and the power drivers built on them.
 * Each says what happened at the hardware, for the person at the terminal or behind `curl`;
 * none carries a transport status. The edges that show them (the hub's API, the CLI, the
 * agent) decide how; the hub's API keeps the one table from these types to its error codes.
 */

/** Base of every hardware-layer error. `details`: structured facts (errno, path, pin). */
export class HardwareError extends Error {
  /** Structured facts behind the message, when there are any. */
  readonly details?: unknown;

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = "HardwareError";
    this.details = details;
  }
}

/**
 * Why a pin refused:
 * - `invalid`: the caller named a pin, backend or operation the device does not have
 *   (pin 16 of a 16-pin chip, a write to an input);
 * - `in_use`: the pin is already claimed by someone else;
 * - `released`: the line was released and must be opened again.
 */
export type PinErrorReason = "invalid" | "in_use" | "released";

/** A pin used wrongly: the caller's mistake or a claim clash, not a failing device. */
export class PinError extends HardwareError {
  readonly reason: PinErrorReason;

  constructor(reason: PinErrorReason, message: string, details?: unknown) {
    super(message, details);
    this.name = "PinError";
    this.reason = reason;
  }
}

/** An I2C bus used wrongly: an address or byte out of range, a short buffer, a closed bus. */
export class BusError extends HardwareError {
  constructor(message: string, details?: unknown) {
    super(message, details);
    this.name = "BusError";
  }
}

/**
 * The hardware did not do what it was told: a read-back mismatch, a failed transfer, a device
 * or interface that is absent or refuses access.
 */
export class HardwareFault extends HardwareError {
  constructor(message: string, details?: unknown) {
    super(message, details);
    this.name = "HardwareFault";
  }
}

/** A GPIO backend cannot be used on this machine (interface absent, no permission, no chip). */
export class GpioBackendError extends HardwareFault {
  /** Which backend gave up: "sysfs", "chardev" or "auto". */
  readonly backend: string;

  constructor(backend: string, message: string, details?: unknown) {
    super(`${backend} GPIO cannot be used here: ${message}`, details);
    this.name = "GpioBackendError";
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
