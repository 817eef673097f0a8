/**
 * Chooses a GPIO backend by name: "sim" | "sysfs" | "chardev" | "auto". `auto` prefers the
 * character device and falls back to sysfs; it never silently falls back to simulation.
 */
import { type Clock, realClock } from "../clock.ts";
import { openChardevLine } from "./chardev.ts";
import { GpioBackendError, PinError } from "./errors.ts";
import type { BinaryValue, Direction, GpioLine } from "./gpio_line.ts";
import { SimulatedGpioLine } from "./simulated.ts";
import { openSysfsLine } from "./sysfs.ts";

/** Backend names. */
export const GPIO_BACKENDS = ["auto", "sysfs", "chardev", "sim"] as const;
/** One backend name. */
export type GpioBackend = typeof GPIO_BACKENDS[number];

/** Options of {@link openGpioLine}. */
export interface OpenLineOptions {
  backend: GpioBackend;
  gpio: number;
  direction: Direction;
  clock?: Clock;
  /** sysfs root (default "/sys"). */
  sysfsRoot?: string;
  /** Where gpiochip devices live (default "/dev"). */
  devRoot?: string;
  /** Level an output starts at (default 0). */
  initial?: BinaryValue;
}

/** True if `name` is a backend name. */
export function isGpioBackend(name: string): name is GpioBackend {
  return (GPIO_BACKENDS as readonly string[]).includes(name);
}

/** Opens a line with the named backend. */
export async function openGpioLine(opts: OpenLineOptions): Promise<GpioLine> {
  const clock = opts.clock ?? realClock;
  switch (opts.backend) {
    case "sim":
      return new SimulatedGpioLine({ ...opts, clock });
    case "sysfs":
      return await openSysfsLine({ ...opts, clock });
    case "chardev":
      return openChardevLine(opts);
    case "auto": {
      let chardevProblem: string;
      try {
        return openChardevLine(opts);
      } catch (e) {
        if (!(e instanceof GpioBackendError)) throw e; // a SystemAccessError is a fault
        chardevProblem = (e as Error).message;
      }
      try {
        return await openSysfsLine({ ...opts, clock });
      } catch (e) {
        if (!(e instanceof GpioBackendError)) throw e;
        throw new GpioBackendError(
          "auto",
          `${chardevProblem}; and ${e.message}. Use --sim to run without GPIO`,
        );
      }
    }
    default:
      throw new PinError(
        "invalid",
        `unknown GPIO backend "${opts.backend}": use ${GPIO_BACKENDS.join(", ")}`,
      );
  }
}
