/**
 * A simulated GPIO line that records every edge as `{at, value}` (times from a Clock), like
 * gpiozero's MockPin. LED tests and the heartbeat benchmark read its edge log.
 */
import type { Clock } from "../clock.ts";
import { PinError } from "./errors.ts";
import type { BinaryValue, Direction, GpioLine } from "./gpio_line.ts";

/** One level change of a simulated line. */
export interface RecordedEdge {
  /** Clock time of the write that changed the level, ms. */
  at: number;
  value: BinaryValue;
}

/** Options of a simulated line. */
export interface SimulatedLineOptions {
  gpio: number;
  direction: Direction;
  clock: Clock;
  /** Level before the first write (default 0). */
  initial?: BinaryValue;
}

/** An in-memory line. Writes that do not change the level are counted but are not edges. */
export class SimulatedGpioLine implements GpioLine {
  readonly gpio: number;
  readonly direction: Direction;
  /** Every level change, oldest first. */
  readonly edges: RecordedEdge[] = [];
  /** Number of writes, edges or not. */
  writes = 0;
  #value: BinaryValue;
  #released = false;
  readonly #clock: Clock;

  constructor(opts: SimulatedLineOptions) {
    this.gpio = opts.gpio;
    this.direction = opts.direction;
    this.#clock = opts.clock;
    this.#value = opts.initial ?? 0;
  }

  /** True once `unexport` has run. */
  get released(): boolean {
    return this.#released;
  }

  /** The current level, without the async of `read`. */
  get value(): BinaryValue {
    return this.#value;
  }

  // deno-lint-ignore require-await
  async read(): Promise<BinaryValue> {
    this.#assertOpen("read");
    return this.#value;
  }

  // deno-lint-ignore require-await
  async write(value: BinaryValue): Promise<void> {
    this.#assertOpen("write");
    if (this.direction !== "out") {
      throw new PinError("invalid", `GPIO ${this.gpio} is an input: it cannot be written`);
    }
    this.writes++;
    if (value !== this.#value) {
      this.#value = value;
      this.edges.push({ at: this.#clock.now(), value });
    }
  }

  // deno-lint-ignore require-await
  async unexport(): Promise<void> {
    this.#released = true;
  }

  #assertOpen(what: string): void {
    if (this.#released) {
      throw new PinError("released", `GPIO ${this.gpio} was released: cannot ${what} it`);
    }
  }
}
