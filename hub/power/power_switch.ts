/**
 * The `PowerSwitch` seam: per-node power through the module's control plane.
 * Implementations: the simulated module (default), one GPIO line per node, I2C GPIO expanders.
 */
import type { PowerState } from "../../shared/schemas.ts";

/** Switches node power rails and reads them back. */
export interface PowerSwitch {
  /** Driver name shown in `GET /api/v1/module`, e.g. "simulated". */
  readonly name: string;
  /** Drives node `node`'s power rail. Resolves when the command has been issued. */
  set(node: number, state: PowerState): Promise<void>;
  /** Reads node `node`'s power rail back from the hardware (not from a cache). */
  read(node: number): Promise<PowerState>;
  /** Releases the hardware. */
  close(): Promise<void>;
}
