/**
 * `I2cError`: a bus failure with the errno behind it, turned into a message that says
 * what is wrong and what to do (enable I2C, join the `i2c` group, check the wiring).
 */
import { HardwareFault } from "../errors.ts";
import { hex } from "./i2c_bus.ts";

/** Linux errno values (identical on x86_64 and aarch64) the I2C layer explains. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  EREMOTEIO: 121,
} as const;

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(ERRNO).map(([name, value]) => [value, name]),
);

/** The symbolic name of `errno` ("ENOENT"), or "errno N" for ones we do not list. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** What failed: opening the device node, or a transfer to a device at `address`. */
export interface I2cErrorContext {
  /** Device node, e.g. "/dev/i2c-1". */
  path: string;
  /** What we were doing, e.g. "read register 0x12". */
  operation: string;
  /** Device address, when the failure concerns one device. */
  address?: number;
}

/** A failed I2C operation; `errno` is the Linux error number (0 when not from the kernel). */
export class I2cError extends HardwareFault {
  readonly errno: number;
  readonly path: string;
  readonly address?: number;

  constructor(message: string, errno: number, ctx: I2cErrorContext) {
    super(message, { errno, errnoName: errnoName(errno), ...ctx });
    this.name = "I2cError";
    this.errno = errno;
    this.path = ctx.path;
    this.address = ctx.address;
  }
}

function hint(errno: number, ctx: I2cErrorContext): string {
  const dev = ctx.address === undefined ? "" : ` at ${hex(ctx.address)}`;
  switch (errno) {
    case ERRNO.ENOENT:
      return `${ctx.path} does not exist: enable the I2C bus (dtparam=i2c_arm=on or an ` +
        `i2c-gpio overlay in config.txt) and load i2c-dev (modprobe i2c-dev)`;
    case ERRNO.EACCES:
    case ERRNO.EPERM:
      return `permission denied on ${ctx.path}: run the hub as a member of the "i2c" group ` +
        `(or as root)`;
    case ERRNO.ENXIO:
    case ERRNO.EREMOTEIO:
      return `no ACK from the device${dev} on ${ctx.path}: chip absent, wrong address, ` +
        `unpowered or miswired (SDA/SCL)`;
    case ERRNO.ETIMEDOUT:
    case ERRNO.EAGAIN:
      return `bus ${ctx.path} timed out${dev}: SDA or SCL held low, or a missing pull-up`;
    case ERRNO.EBUSY:
      return `address${dev} on ${ctx.path} is claimed by a kernel driver (unbind it first)`;
    case ERRNO.ENOTTY:
    case ERRNO.EINVAL:
      return `${ctx.path} is not an I2C adapter (the I2C ioctl is not supported on it)`;
    case ERRNO.EOPNOTSUPP:
      return `the adapter behind ${ctx.path} does not support this SMBus transfer`;
    default:
      return `I/O error on ${ctx.path}${dev}`;
  }
}

/** Builds the {@link I2cError} for a failed system call that set `errno`. */
export function i2cErrnoError(errno: number, ctx: I2cErrorContext): I2cError {
  return new I2cError(
    `I2C ${ctx.operation} failed (${errnoName(errno)}): ${hint(errno, ctx)}`,
    errno,
    ctx,
  );
}
