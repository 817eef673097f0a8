/**
 * The sysfs GPIO backend (`/sys/class/gpio`, the vendor's shell guide). Handles the global
 * numbering of kernels ≥ 6.6, where the main chip's base is 512 rather than 0: BCM GPIO 21
 * is line `base + 21`, `base` read from the `gpiochipN` whose `label` is the Pi's main chip.
 * All file access goes through {@link SysfsIo} so tests can put a kernel model behind it.
 */
import { type Clock, realClock } from "../clock.ts";
import { throwIfRefused } from "../system_access.ts";
import { GpioBackendError, HardwareFault, isPiMainChip } from "./errors.ts";
import type { BinaryValue, Direction, GpioLine } from "./gpio_line.ts";

/** File operations the backend needs; the default is the real filesystem. */
export interface SysfsIo {
  readText(path: string): Promise<string>;
  /** Writes to an existing attribute file (never creates one). */
  writeText(path: string, text: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  readDir(path: string): Promise<string[]>;
}

/** The real filesystem. */
export const denoSysfsIo: SysfsIo = {
  readText: (path) => Deno.readTextFile(path),
  async writeText(path, text) {
    using f = await Deno.open(path, { write: true });
    await f.write(new TextEncoder().encode(text));
  },
  async exists(path) {
    try {
      await Deno.lstat(path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  },
  async readDir(path) {
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) names.push(e.name);
    return names.sort();
  },
};

/** Options of {@link openSysfsLine}. */
export interface SysfsLineOptions {
  /** BCM GPIO number (21 for the bay LED). */
  gpio: number;
  direction: Direction;
  /** Root of sysfs (default "/sys"): the interface is `${sysfsRoot}/class/gpio`. */
  sysfsRoot?: string;
  /** Override the chip base instead of reading it (0 on old kernels, 512 on ≥ 6.6). */
  base?: number;
  io?: SysfsIo;
  clock?: Clock;
  /** Level an output starts at (default 0): set atomically with the direction. */
  initial?: BinaryValue;
  /** How long to wait for udev to make a freshly exported line writable (default 2000 ms). */
  permissionTimeoutMs?: number;
}

/**
 * The base of the Pi's main GPIO chip under `gpioDir`, from `gpiochipN/label` and `gpiochipN/base`.
 * Throws {@link GpioBackendError} if the interface or the chip is absent.
 */
export async function findMainChipBase(
  gpioDir: string,
  io: SysfsIo = denoSysfsIo,
): Promise<number> {
  let names: string[];
  try {
    names = await io.readDir(gpioDir);
  } catch (e) {
    throwIfRefused(e, gpioDir);
    throw new GpioBackendError(
      "sysfs",
      `${gpioDir} is not readable (${(e as Error).message}); is CONFIG_GPIO_SYSFS enabled?`,
    );
  }
  const labels: string[] = [];
  for (const name of names.filter((n) => /^gpiochip[0-9]+$/.test(n))) {
    const label = (await io.readText(`${gpioDir}/${name}/label`)).trim();
    labels.push(`${name}=${label}`);
    if (isPiMainChip(label)) {
      const base = Number((await io.readText(`${gpioDir}/${name}/base`)).trim());
      if (!Number.isInteger(base) || base < 0) {
        throw new GpioBackendError("sysfs", `${gpioDir}/${name}/base is not a number`);
      }
      return base;
    }
  }
  throw new GpioBackendError(
    "sysfs",
    `no Raspberry Pi GPIO chip under ${gpioDir} (found: ${labels.join(", ") || "none"})`,
  );
}

/**
 * Exports (if needed) and configures one line; returns it ready for use. A line that is
 * exported already as an output is left as it is (its level is not reset to `initial`).
 */
export async function openSysfsLine(opts: SysfsLineOptions): Promise<GpioLine> {
  const io = opts.io ?? denoSysfsIo;
  const clock = opts.clock ?? realClock;
  const gpioDir = `${opts.sysfsRoot ?? "/sys"}/class/gpio`;
  const base = opts.base ?? await findMainChipBase(gpioDir, io);
  const global = base + opts.gpio;
  const lineDir = `${gpioDir}/gpio${global}`;
  if (await io.exists(lineDir)) {
    // Exported already (a restarted hub): an output keeps its level, so nodes keep power.
    const current = await io.readText(`${lineDir}/direction`).catch(() => "");
    if (opts.direction === "out" && current.trim() === "out") {
      return new SysfsGpioLine(opts.gpio, opts.direction, gpioDir, global, io);
    }
  } else {
    try {
      await io.writeText(`${gpioDir}/export`, `${global}\n`);
    } catch (e) {
      throw new HardwareFault(
        `cannot export GPIO ${opts.gpio} (global ${global}, chip base ${base}): ${
          (e as Error).message
        }`,
      );
    }
  }
  // udev fixes the group/mode of the new files a moment after export: retry until then.
  const deadline = clock.now() + (opts.permissionTimeoutMs ?? 2000);
  // "low"/"high" make it an output already at its initial level: no glitch on the LED.
  const dirValue = opts.direction === "in" ? "in" : opts.initial === 1 ? "high" : "low";
  for (;;) {
    try {
      await io.writeText(`${lineDir}/direction`, `${dirValue}\n`);
      break;
    } catch (e) {
      const retry = e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound;
      if (!retry || clock.now() >= deadline) {
        throw new HardwareFault(
          `cannot set ${lineDir}/direction to ${dirValue}: ${(e as Error).message}`,
        );
      }
      await clock.sleep(10);
    }
  }
  return new SysfsGpioLine(opts.gpio, opts.direction, gpioDir, global, io);
}

/**
 * A line exported through sysfs. `unexport` gives the line back to the kernel (on a Pi the
 * pin controller then makes it an input); `detach` leaves it exported and driven.
 */
class SysfsGpioLine implements GpioLine {
  #released = false;

  constructor(
    readonly gpio: number,
    readonly direction: Direction,
    private readonly gpioDir: string,
    private readonly global: number,
    private readonly io: SysfsIo,
  ) {}

  get #value(): string {
    return `${this.gpioDir}/gpio${this.global}/value`;
  }

  async read(): Promise<BinaryValue> {
    this.#assertOpen();
    const text = (await this.io.readText(this.#value)).trim();
    return text === "0" ? 0 : 1;
  }

  async write(value: BinaryValue): Promise<void> {
    this.#assertOpen();
    try {
      await this.io.writeText(this.#value, value ? "1\n" : "0\n");
    } catch (e) {
      throw new HardwareFault(
        `cannot write ${value} to ${this.#value}: ${(e as Error).message}`,
      );
    }
  }

  detach(): Promise<void> {
    this.#released = true;
    return Promise.resolve();
  }

  async unexport(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      await this.io.writeText(`${this.gpioDir}/unexport`, `${this.global}\n`);
    } catch (e) {
      throw new HardwareFault(`cannot unexport GPIO ${this.gpio}: ${(e as Error).message}`);
    }
  }

  #assertOpen(): void {
    if (this.#released) {
      throw new HardwareFault(`GPIO ${this.gpio} was unexported: open it again to use it`);
    }
  }
}
