/**
 * The `PowerSwitch` seam: per-node power through the module's control plane.
 * Implementations: the simulated module (default), one GPIO line per node or I2C GPIO
 * expanders (`LinePowerSwitch`), QEMU guests as bays.
 *
 * The driver verifies the rail, and only the driver: `set` resolves once the rail reads back
 * the state asked for (within the driver's read-back window), and otherwise throws a
 * `HardwareFault` saying which node and which line or device did not follow. Its callers (the
 * power sequencer) do not read the rail back again to check it: they read it only to learn its
 * state after a failed `set`, or at start.
 */
import type { PowerState } from "../../shared/schemas.ts";

/** Switches node power rails and reads them back. */
export interface PowerSwitch {
  /** Driver name shown in `GET /api/v1/module`, e.g. "simulated". */
  readonly name: string;
  /**
   * Switches node `node`'s power rail to `state` and checks it: resolves once the rail reads
   * back `state`; a rail that does not follow, or a bus or line error, is a `HardwareFault`.
   */
  set(node: number, state: PowerState): Promise<void>;
  /** Reads node `node`'s power rail back from the hardware (not from a cache). */
  read(node: number): Promise<PowerState>;
  /** Releases the hardware. */
  close(): Promise<void>;
}
