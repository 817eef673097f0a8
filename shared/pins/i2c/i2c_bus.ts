/**
 * The `I2cBus` seam, shaped like the promisified API of the npm package `i2c-bus`
 * (`readByteData`, `writeByteData`, `i2cRead`, `i2cWrite`, `close`) so driver code reads like
 * i2c-bus code. Implementation: {@link DevI2cBus} (Linux `/dev/i2c-N` through FFI); tests use
 * register-level fakes of the chips.
 */
import { BusError } from "../errors.ts";

/** Result of {@link I2cBus.i2cRead}, as in i2c-bus. */
export interface BytesRead {
  bytesRead: number;
  buffer: Uint8Array;
}

/** Result of {@link I2cBus.i2cWrite}, as in i2c-bus. */
export interface BytesWritten {
  bytesWritten: number;
  buffer: Uint8Array;
}

/** One I2C bus master. Addresses are 7-bit. A failed transfer is a `HardwareFault` (an `I2cError`); a
 * call with an out-of-range argument is a `BusError`. */
export interface I2cBus {
  /** Human name of the bus for messages, e.g. "/dev/i2c-1". */
  readonly name: string;
  /** SMBus "read byte data": register `cmd` of the device at `addr`. */
  readByteData(addr: number, cmd: number): Promise<number>;
  /** SMBus "write byte data": `byte` to register `cmd` of the device at `addr`. */
  writeByteData(addr: number, cmd: number, byte: number): Promise<void>;
  /** Plain I2C read of `length` bytes into `buffer`. */
  i2cRead(addr: number, length: number, buffer: Uint8Array): Promise<BytesRead>;
  /** Plain I2C write of the first `length` bytes of `buffer`. */
  i2cWrite(addr: number, length: number, buffer: Uint8Array): Promise<BytesWritten>;
  /** Releases the bus. Idempotent. */
  close(): Promise<void>;
}

/** Formats an I2C address the way datasheets do: 0x20. */
export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

/** Throws a `BusError` unless `addr` is a usable 7-bit address (0x03–0x77). */
export function assertAddress(addr: number): void {
  if (!Number.isInteger(addr) || addr < 0x03 || addr > 0x77) {
    throw new BusError(`I2C address ${addr} is not a 7-bit address 0x03–0x77`);
  }
}

/** Throws a `BusError` unless `value` is a byte 0–255 (`what` names it). */
export function assertByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new BusError(`I2C ${what} ${value} is not a byte 0–255`);
  }
}

/** Throws a `BusError` unless `length` fits in `buffer`. */
export function assertLength(length: number, buffer: Uint8Array): void {
  if (!Number.isInteger(length) || length < 0 || length > buffer.length) {
    throw new BusError(
      `I2C transfer length ${length} does not fit the ${buffer.length}-byte buffer`,
    );
  }
}
