/**
 * One I2C GPIO expander (MCP23017 or PCA9555 class) whose pins are handed out as
 * `GpioLine`s, so the power driver never knows it is talking to an expander.
 *
 * Rules kept for a live module:
 * - the output latch is read from the chip at start-up and kept as a shadow; every pin change
 *   is a read-modify-write of that shadow, so pins this driver does not own are never touched;
 * - only pins claimed as outputs are turned into outputs, and the latch bit is written
 *   BEFORE the direction bit, so a pin never drives a stale latch value for an instant;
 * - a pin that already is an output keeps its level (a hub restart does not power-cycle nodes);
 * - reads go to the chip's pin register (the level on the pin), never to the latch or a cache;
 * - changes of one chip are serialised, so concurrent writes cannot clobber each other.
 */
import { PinError } from "../errors.ts";
import type { BinaryValue, Direction, GpioLine } from "../gpio_line.ts";
import { hex, type I2cBus } from "../i2c/i2c_bus.ts";
import { EXPANDER_PINS, type ExpanderRegisterMap } from "./register_map.ts";
import { KeyedMutex } from "../../keyed_mutex.ts";

/** Port (0/1) and bit mask of `pin`. */
function portBit(pin: number): { port: 0 | 1; mask: number } {
  return { port: pin < 8 ? 0 : 1, mask: 1 << (pin & 7) };
}

/** A 16-pin expander at one address of one bus. */
export class PortExpander {
  readonly bus: I2cBus;
  readonly address: number;
  readonly map: ExpanderRegisterMap;
  /** A chip's register read-modify-writes must not interleave, or one pin clobbers another. */
  readonly #lock = new KeyedMutex<"registers">();
  readonly #claimed = new Set<number>();
  /** Shadow of the output latches; null after a failed write (re-read before the next). */
  #latch: [number, number] | null;

  private constructor(
    bus: I2cBus,
    address: number,
    map: ExpanderRegisterMap,
    latch: [number, number],
  ) {
    this.bus = bus;
    this.address = address;
    this.map = map;
    this.#latch = latch;
  }

  /** Checks the chip answers (and is in the expected mode) and reads its output latches. */
  static async open(bus: I2cBus, address: number, map: ExpanderRegisterMap): Promise<PortExpander> {
    await map.verify?.(bus, address);
    const latch = await PortExpander.#readPair(bus, address, map.latch);
    return new PortExpander(bus, address, map, latch);
  }

  static async #readPair(bus: I2cBus, address: number, regs: readonly [number, number]) {
    return [
      await bus.readByteData(address, regs[0]),
      await bus.readByteData(address, regs[1]),
    ] as [number, number];
  }

  /** "MCP23017 0x20 on /dev/i2c-1", for messages. */
  get label(): string {
    return `${this.map.chip} ${hex(this.address)} on ${this.bus.name}`;
  }

  #claim(pin: number): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= EXPANDER_PINS) {
      throw new PinError("invalid", `${this.label} has pins 0–15, not ${pin}`);
    }
    if (this.#claimed.has(pin)) {
      throw new PinError("in_use", `pin ${pin} of ${this.label} is already in use`);
    }
    this.#claimed.add(pin);
  }

  /** Read-modify-write of one bit of a register read fresh from the chip. */
  async #updateBit(reg: number, mask: number, set: boolean): Promise<void> {
    const before = await this.bus.readByteData(this.address, reg);
    const after = set ? before | mask : before & ~mask;
    if (after !== before) await this.bus.writeByteData(this.address, reg, after);
  }

  /**
   * Claims `pin` as an output. If it is not an output yet, its latch bit is first set to
   * `initial`, then it is made an output; if it already is one, its level is left alone.
   */
  async output(pin: number, initial: BinaryValue): Promise<GpioLine> {
    this.#claim(pin);
    return await this.#lock.run("registers", async () => {
      try {
        const { port, mask } = portBit(pin);
        const dirReg = this.map.direction[port];
        const dir = await this.bus.readByteData(this.address, dirReg);
        if (dir & mask) {
          await this.#writeLatchBit(pin, initial);
          await this.bus.writeByteData(this.address, dirReg, dir & ~mask);
        }
        return new ExpanderLine(this, pin, "out");
      } catch (e) {
        this.#claimed.delete(pin);
        throw e;
      }
    });
  }

  /** Claims `pin` as an input with uninverted polarity. */
  async input(pin: number): Promise<GpioLine> {
    this.#claim(pin);
    return await this.#lock.run("registers", async () => {
      try {
        const { port, mask } = portBit(pin);
        await this.#updateBit(this.map.polarity[port], mask, false);
        await this.#updateBit(this.map.direction[port], mask, true);
        return new ExpanderLine(this, pin, "in");
      } catch (e) {
        this.#claimed.delete(pin);
        throw e;
      }
    });
  }

  async #writeLatchBit(pin: number, value: BinaryValue): Promise<void> {
    const { port, mask } = portBit(pin);
    const latch = this.#latch ??
      await PortExpander.#readPair(this.bus, this.address, this.map.latch);
    this.#latch = null;
    const next = value ? latch[port] | mask : latch[port] & ~mask;
    await this.bus.writeByteData(this.address, this.map.latch[port], next);
    latch[port] = next;
    this.#latch = latch;
  }

  /** Drives output `pin` (a read-modify-write of the latch shadow). */
  writePin(pin: number, value: BinaryValue): Promise<void> {
    return this.#lock.run("registers", () => this.#writeLatchBit(pin, value));
  }

  /** Reads the level on `pin` from the chip's pin register. */
  readPin(pin: number): Promise<BinaryValue> {
    const { port, mask } = portBit(pin);
    return this.#lock.run("registers", async () => {
      const v = await this.bus.readByteData(this.address, this.map.pins[port]);
      return (v & mask ? 1 : 0) as BinaryValue;
    });
  }

  /** Gives `pin` back (its configuration and level stay as they are). */
  release(pin: number): void {
    this.#claimed.delete(pin);
  }
}

/** One claimed expander pin as a `GpioLine`. */
class ExpanderLine implements GpioLine {
  readonly gpio: number;
  readonly direction: Direction;
  readonly #chip: PortExpander;
  #released = false;

  constructor(chip: PortExpander, pin: number, direction: Direction) {
    this.#chip = chip;
    this.gpio = pin;
    this.direction = direction;
  }

  #assertOpen(what: string): void {
    if (this.#released) {
      throw new PinError(
        "released",
        `pin ${this.gpio} of ${this.#chip.label} was released: cannot ${what} it`,
      );
    }
  }

  // deno-lint-ignore require-await
  async read(): Promise<BinaryValue> {
    this.#assertOpen("read");
    return this.#chip.readPin(this.gpio);
  }

  // deno-lint-ignore require-await
  async write(value: BinaryValue): Promise<void> {
    this.#assertOpen("write");
    if (this.direction !== "out") {
      throw new PinError(
        "invalid",
        `pin ${this.gpio} of ${this.#chip.label} is an input: it cannot be written`,
      );
    }
    return this.#chip.writePin(this.gpio, value);
  }

  /** The same as unexport: the chip keeps the pin's direction and level. */
  detach(): Promise<void> {
    return this.unexport();
  }

  /** Releases the pin, leaving its direction and level as they are (nodes keep power). */
  unexport(): Promise<void> {
    if (!this.#released) {
      this.#released = true;
      this.#chip.release(this.gpio);
    }
    return Promise.resolve();
  }
}
