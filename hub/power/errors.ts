/**
 * Errors of the power layer beyond the hardware errors of shared/pins/errors.ts (which the
 * drivers raise too: `HardwareFault` when a rail does not do what it was told). None carries a
 * transport status; the hub's API maps them to its error codes at the edge.
 */
import { HardwareError } from "../../shared/pins/errors.ts";

/** A power driver used after it was closed (the hub is stopping). */
export class DriverClosedError extends HardwareError {
  constructor(driver: string) {
    super(`${driver} power driver is closed`);
    this.name = "DriverClosedError";
  }
}

/** A power config that cannot drive this module: a bad field, or a backend that cannot hold rails. */
export class PowerConfigError extends HardwareError {
  constructor(message: string, details?: unknown) {
    super(message, details);
    this.name = "PowerConfigError";
  }
}

/**
 * The control-plane lock could not be taken: `held` when another hub holds it, otherwise the
 * lock file cannot be made (permissions).
 */
export class ControlPlaneLockError extends HardwareError {
  readonly held: boolean;

  constructor(held: boolean, message: string) {
    super(message);
    this.name = "ControlPlaneLockError";
    this.held = held;
  }
}
