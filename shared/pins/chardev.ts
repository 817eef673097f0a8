/**
 * The GPIO character device backend (`/dev/gpiochipN`, uAPI v2) through libc's `open`,
 * `ioctl` and `close` (shared/libc.ts; needs --allow-ffi). Lines are chip-relative: BCM
 * GPIO 21 is offset 21 of the Pi's main chip, whatever the kernel's global numbering.
 */
import {
  decodeChipInfo,
  decodeLineRequestFd,
  decodeLineValuesBits,
  encodeLineValues,
  inputLineRequest,
  IOCTL,
  outputLineRequest,
  SIZEOF,
} from "./chardev_uapi.ts";
import { cString, errno, type Libc, libc, LibcLoadError, O_CLOEXEC, O_RDWR } from "../libc.ts";
import { throwIfRefused } from "../system_access.ts";
import { GpioBackendError, HardwareFault, isPiMainChip } from "./errors.ts";
import type { BinaryValue, Direction, GpioLine } from "./gpio_line.ts";

function loadLibc(): Libc {
  try {
    return libc();
  } catch (e) {
    if (!(e instanceof LibcLoadError)) throw e;
    throw new GpioBackendError("chardev", e.message);
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  9: "EBADF",
  13: "EACCES",
  16: "EBUSY (line in use by another consumer)",
  22: "EINVAL",
  25: "ENOTTY (not a GPIO chip)",
};

function describeErrno(n: number): string {
  return `${ERRNO_NAMES[n] ?? "errno"} ${n}`;
}

/** Options of {@link openChardevLine}. */
export interface ChardevLineOptions {
  /** BCM GPIO number (chip-relative offset). */
  gpio: number;
  direction: Direction;
  /** Directory holding the gpiochip devices (default "/dev"). */
  devRoot?: string;
  /** A specific chip device path; default: the chip labelled as the Pi's main controller. */
  chip?: string;
  /** Consumer label shown by `gpioinfo` (default "cluster-agent"). */
  consumer?: string;
  /** Level an output starts at (default 0). */
  initial?: BinaryValue;
}

/** The gpiochip device paths under `devRoot`, or a clear error if there are none. */
export function listGpioChips(devRoot = "/dev"): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(devRoot)].map((e) => e.name);
  } catch (e) {
    throwIfRefused(e, devRoot);
    throw new GpioBackendError("chardev", `cannot list ${devRoot}: ${(e as Error).message}`);
  }
  const chips = names.filter((n) => /^gpiochip[0-9]+$/.test(n))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
    .map((n) => `${devRoot}/${n}`);
  if (chips.length === 0) {
    throw new GpioBackendError(
      "chardev",
      `no ${devRoot}/gpiochip* device: this is not a Pi, or the GPIO character device is not ` +
        `enabled; use --gpio-backend sysfs or sim`,
    );
  }
  return chips;
}

function openFd(c: Libc, path: string): number {
  const fd = c.open(cString(path), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    throw new GpioBackendError("chardev", `cannot open ${path}: ${describeErrno(errno())}`);
  }
  return fd;
}

function chipLabel(c: Libc, fd: number): string | undefined {
  const info = new Uint8Array(SIZEOF.gpiochip_info);
  if (c.ioctl_ptr(fd, BigInt(IOCTL.GPIO_GET_CHIPINFO_IOCTL), info) < 0) return undefined;
  return decodeChipInfo(info).label;
}

/** Requests one line from the Pi's main chip (or `opts.chip`) and returns it. */
export function openChardevLine(opts: ChardevLineOptions): GpioLine {
  const chips = opts.chip ? [opts.chip] : listGpioChips(opts.devRoot);
  const c = loadLibc();
  const seen: string[] = [];
  for (const path of chips) {
    const fd = openFd(c, path);
    try {
      const label = chipLabel(c, fd);
      seen.push(`${path}=${label ?? "?"}`);
      if (!opts.chip && (label === undefined || !isPiMainChip(label))) continue;
      const consumer = opts.consumer ?? "cluster-agent";
      const req = opts.direction === "out"
        ? outputLineRequest(opts.gpio, consumer, opts.initial ?? 0)
        : inputLineRequest(opts.gpio, consumer);
      if (c.ioctl_ptr(fd, BigInt(IOCTL.GPIO_V2_GET_LINE_IOCTL), req) < 0) {
        throw new HardwareFault(
          `cannot request line ${opts.gpio} of ${path}: ${describeErrno(errno())}`,
        );
      }
      return new ChardevGpioLine(opts.gpio, opts.direction, decodeLineRequestFd(req), c);
    } finally {
      c.close(fd);
    }
  }
  throw new GpioBackendError(
    "chardev",
    `no Raspberry Pi GPIO chip among ${seen.join(", ")}; name one with its device path`,
  );
}

/** A requested line; `unexport` closes its fd, after which the kernel keeps the last level. */
class ChardevGpioLine implements GpioLine {
  #fd: number;

  constructor(
    readonly gpio: number,
    readonly direction: Direction,
    fd: number,
    private readonly c: Libc,
  ) {
    this.#fd = fd;
  }

  // deno-lint-ignore require-await
  async read(): Promise<BinaryValue> {
    const v = encodeLineValues(0n, 1n);
    this.#ioctl(IOCTL.GPIO_V2_LINE_GET_VALUES_IOCTL, v, "read");
    return (decodeLineValuesBits(v) & 1n) === 1n ? 1 : 0;
  }

  // deno-lint-ignore require-await
  async write(value: BinaryValue): Promise<void> {
    this.#ioctl(IOCTL.GPIO_V2_LINE_SET_VALUES_IOCTL, encodeLineValues(BigInt(value), 1n), "write");
  }

  // deno-lint-ignore require-await
  async unexport(): Promise<void> {
    if (this.#fd < 0) return;
    this.c.close(this.#fd);
    this.#fd = -1;
  }

  #ioctl(request: number, buf: Uint8Array, what: string): void {
    if (this.#fd < 0) {
      throw new HardwareFault(`GPIO ${this.gpio} was released: cannot ${what} it`);
    }
    if (this.c.ioctl_ptr(this.#fd, BigInt(request), buf) < 0) {
      throw new HardwareFault(
        `GPIO ${this.gpio} ${what} failed: ${describeErrno(errno())}`,
      );
    }
  }
}
