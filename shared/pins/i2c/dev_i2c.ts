/**
 * The real I2C bus: Linux `/dev/i2c-N` (i2c-dev) driven through libc by FFI. Byte-data
 * transfers use the `I2C_SMBUS` ioctl (a proper SMBus transaction with repeated start, as
 * i2c-bus does); plain transfers select the slave with `I2C_SLAVE` and use read()/write().
 * Calls are synchronous underneath (a byte transfer takes ~0.1–0.5 ms at 100 kHz).
 */
import { BusError, HardwareFault } from "../errors.ts";
import {
  assertAddress,
  assertByte,
  assertLength,
  type BytesRead,
  type BytesWritten,
  hex,
  type I2cBus,
} from "./i2c_bus.ts";
import { i2cErrnoError, type I2cErrorContext } from "./i2c_error.ts";
import { cString, errno, type Libc, libc, LibcLoadError, O_CLOEXEC, O_RDWR } from "../../libc.ts";
import {
  encodeSmbusIoctlData,
  I2C_SLAVE,
  I2C_SMBUS,
  I2C_SMBUS_BYTE_DATA,
  I2C_SMBUS_READ,
  I2C_SMBUS_WRITE,
  SMBUS_DATA_BYTES,
} from "./smbus.ts";

/** libc for the bus; a `HardwareFault` saying why when it cannot be loaded. */
function i2cLibc(): Libc {
  try {
    return libc();
  } catch (e) {
    if (!(e instanceof LibcLoadError)) throw e;
    throw new HardwareFault(`I2C access (/dev/i2c-N): ${e.message}`);
  }
}

/** Opens `/dev/i2c-<n>`; throws an I2cError explaining a missing device or denied access. */
export function openDevI2cBus(n: number): Promise<I2cBus> {
  if (!Number.isInteger(n) || n < 0) {
    return Promise.reject(new BusError(`I2C bus number ${n} is not >= 0`));
  }
  return openDevI2cPath(`/dev/i2c-${n}`);
}

/** Opens an i2c-dev device node by path (tests use non-I2C paths to exercise errors). */
// deno-lint-ignore require-await
export async function openDevI2cPath(path: string): Promise<I2cBus> {
  return DevI2cBus.open(path);
}

/**
 * One SMBus byte-data transfer on `fd` through the `I2C_SMBUS` ioctl; `data` is the 34-byte
 * `union i2c_smbus_data` (byte 0 carries the byte). Returns 0, or the errno on failure.
 */
export function smbusByteData(
  fd: number,
  readWrite: number,
  cmd: number,
  data: Uint8Array<ArrayBuffer>,
): number {
  if (data.length !== SMBUS_DATA_BYTES) {
    throw new BusError(`SMBus data must be ${SMBUS_DATA_BYTES} bytes`);
  }
  const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)));
  const args = encodeSmbusIoctlData(readWrite, cmd, I2C_SMBUS_BYTE_DATA, address);
  return i2cLibc().ioctl_ptr(fd, BigInt(I2C_SMBUS), args) < 0 ? errno() : 0;
}

/** An open `/dev/i2c-N`. */
export class DevI2cBus implements I2cBus {
  readonly name: string;
  #fd: number;
  /** Address last set with I2C_SLAVE, so several chips on one bus cost one ioctl per switch. */
  #slave = -1;

  private constructor(path: string, fd: number) {
    this.name = path;
    this.#fd = fd;
  }

  /** Opens `path` read-write. */
  static open(path: string): DevI2cBus {
    const fd = i2cLibc().open(cString(path), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw i2cErrnoError(errno(), { path, operation: `open of ${path}` });
    return new DevI2cBus(path, fd);
  }

  #ctx(operation: string, address?: number): I2cErrorContext {
    return { path: this.name, operation, address };
  }

  #openFd(): number {
    if (this.#fd < 0) throw new BusError(`I2C bus ${this.name} is closed`);
    return this.#fd;
  }

  #selectSlave(addr: number): number {
    assertAddress(addr);
    const fd = this.#openFd();
    if (this.#slave !== addr) {
      if (i2cLibc().ioctl_ulong(fd, BigInt(I2C_SLAVE), BigInt(addr)) < 0) {
        throw i2cErrnoError(errno(), this.#ctx(`select of slave ${hex(addr)}`, addr));
      }
      this.#slave = addr;
    }
    return fd;
  }

  #smbus(addr: number, readWrite: number, cmd: number, data: Uint8Array<ArrayBuffer>, op: string) {
    assertByte(cmd, "register");
    const fd = this.#selectSlave(addr);
    const err = smbusByteData(fd, readWrite, cmd, data);
    if (err !== 0) throw i2cErrnoError(err, this.#ctx(`${op} of ${hex(addr)}`, addr));
  }

  // deno-lint-ignore require-await
  async readByteData(addr: number, cmd: number): Promise<number> {
    const data = new Uint8Array(SMBUS_DATA_BYTES);
    this.#smbus(addr, I2C_SMBUS_READ, cmd, data, `read of register ${hex(cmd)}`);
    return data[0];
  }

  // deno-lint-ignore require-await
  async writeByteData(addr: number, cmd: number, byte: number): Promise<void> {
    assertByte(byte, "data byte");
    const data = new Uint8Array(SMBUS_DATA_BYTES);
    data[0] = byte;
    this.#smbus(addr, I2C_SMBUS_WRITE, cmd, data, `write of register ${hex(cmd)}`);
  }

  // deno-lint-ignore require-await
  async i2cRead(addr: number, length: number, buffer: Uint8Array): Promise<BytesRead> {
    assertLength(length, buffer);
    const fd = this.#selectSlave(addr);
    const tmp = new Uint8Array(length);
    const n = Number(i2cLibc().read(fd, tmp, BigInt(length)));
    if (n < 0) throw i2cErrnoError(errno(), this.#ctx(`read from ${hex(addr)}`, addr));
    buffer.set(tmp.subarray(0, n));
    return { bytesRead: n, buffer };
  }

  // deno-lint-ignore require-await
  async i2cWrite(addr: number, length: number, buffer: Uint8Array): Promise<BytesWritten> {
    assertLength(length, buffer);
    const fd = this.#selectSlave(addr);
    const n = Number(i2cLibc().write(fd, buffer.slice(0, length), BigInt(length)));
    if (n < 0) throw i2cErrnoError(errno(), this.#ctx(`write to ${hex(addr)}`, addr));
    return { bytesWritten: n, buffer };
  }

  close(): Promise<void> {
    if (this.#fd >= 0) {
      i2cLibc().close(this.#fd);
      this.#fd = -1;
    }
    return Promise.resolve();
  }
}
