/**
 * A fake {@link I2cBus} with register-level device models at addresses. Absent addresses
 * NAK with the same typed error the real bus gives (ENXIO); `nak(addr)` makes a present
 * chip stop answering. Every transfer is logged for tests.
 */
import {
  assertAddress,
  assertByte,
  assertLength,
  type BytesRead,
  type BytesWritten,
  hex,
  type I2cBus,
} from "../../../../shared/pins/i2c/i2c_bus.ts";
import { ERRNO, i2cErrnoError } from "../../../../shared/pins/i2c/i2c_error.ts";
import type { I2cDeviceModel } from "./fake_device.ts";

/** One logged byte-data transfer. */
export interface FakeTransfer {
  op: "read" | "write";
  addr: number;
  reg: number;
  value: number;
}

/** An in-memory I2C bus. */
export class FakeI2cBus implements I2cBus {
  readonly name: string;
  /** Byte-level transfers, oldest first (raw transfers log one entry per byte). */
  readonly log: FakeTransfer[] = [];
  readonly #devices = new Map<number, I2cDeviceModel>();
  readonly #naking = new Set<number>();
  readonly #pointer = new Map<number, number>();
  #closed = false;

  constructor(name = "fake-i2c") {
    this.name = name;
  }

  /** Puts `model` on the bus at `addr`. */
  attach(addr: number, model: I2cDeviceModel): this {
    assertAddress(addr);
    this.#devices.set(addr, model);
    return this;
  }

  /** Makes the device at `addr` NAK every transfer (`false` heals it). */
  nak(addr: number, on = true): void {
    if (on) this.#naking.add(addr);
    else this.#naking.delete(addr);
  }

  /** True once `close` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  #device(addr: number, operation: string): I2cDeviceModel {
    assertAddress(addr);
    if (this.#closed) throw new Error(`fake I2C bus ${this.name} is closed`);
    const device = this.#devices.get(addr);
    if (!device || this.#naking.has(addr)) {
      throw i2cErrnoError(ERRNO.ENXIO, { path: this.name, operation, address: addr });
    }
    return device;
  }

  // deno-lint-ignore require-await
  async readByteData(addr: number, cmd: number): Promise<number> {
    assertByte(cmd, "register");
    const value = this.#device(addr, `read of register ${hex(cmd)} of ${hex(addr)}`)
      .readRegister(cmd);
    this.log.push({ op: "read", addr, reg: cmd, value });
    return value;
  }

  // deno-lint-ignore require-await
  async writeByteData(addr: number, cmd: number, byte: number): Promise<void> {
    assertByte(cmd, "register");
    assertByte(byte, "data byte");
    this.#device(addr, `write of register ${hex(cmd)} of ${hex(addr)}`)
      .writeRegister(cmd, byte);
    this.log.push({ op: "write", addr, reg: cmd, value: byte });
  }

  /** Reads sequentially from the register pointer set by the last write. */
  // deno-lint-ignore require-await
  async i2cRead(addr: number, length: number, buffer: Uint8Array): Promise<BytesRead> {
    assertLength(length, buffer);
    const device = this.#device(addr, `read from ${hex(addr)}`);
    let reg = this.#pointer.get(addr) ?? 0;
    for (let i = 0; i < length; i++) {
      buffer[i] = device.readRegister(reg);
      this.log.push({ op: "read", addr, reg, value: buffer[i] });
      reg = device.nextRegister(reg);
    }
    this.#pointer.set(addr, reg);
    return { bytesRead: length, buffer };
  }

  /** The first byte sets the register pointer; the rest are written sequentially. */
  // deno-lint-ignore require-await
  async i2cWrite(addr: number, length: number, buffer: Uint8Array): Promise<BytesWritten> {
    assertLength(length, buffer);
    const device = this.#device(addr, `write to ${hex(addr)}`);
    if (length === 0) return { bytesWritten: 0, buffer };
    let reg = buffer[0];
    for (let i = 1; i < length; i++) {
      device.writeRegister(reg, buffer[i]);
      this.log.push({ op: "write", addr, reg, value: buffer[i] });
      reg = device.nextRegister(reg);
    }
    this.#pointer.set(addr, reg);
    return { bytesWritten: length, buffer };
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
