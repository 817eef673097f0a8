/**
 * The one power driver: each node's rail is switched by a `GpioLine` (a Pi GPIO or an
 * expander pin) and optionally sensed by another. Written once for every line backend.
 *
 * `set` writes the control line, then reads it back, and the sense line when there is one,
 * and throws a HardwareFault if they do not show the new state within the readback
 * window (stuck or shorted line, a rail that does not come up). `read` always asks the
 * hardware: the sense line when there is one (1 = rail up), else the control line's level.
 * Every failure names the node and where it is wired. `close` leaves every rail as it is.
 */
import { type Clock, realClock } from "../../shared/clock.ts";
import { HardwareFault } from "../../shared/pins/errors.ts";
import { DriverClosedError } from "./errors.ts";
import type { BinaryValue, GpioLine } from "../../shared/pins/gpio_line.ts";
import type { PowerState } from "../../shared/schemas.ts";
import type { PowerSwitch } from "./power_switch.ts";

/** How one node's rail is wired. */
export interface NodeLines {
  /** Output line that switches the rail. */
  control: GpioLine;
  /** Input line that reads 1 while the rail is up (absent: read the control line's level). */
  sense?: GpioLine;
  /** The rail is on when the control line is low. */
  activeLow: boolean;
  /** Where the node is wired, for messages, e.g. "GPIO 17" or "MCP23017 0x20 on /dev/i2c-1 pin 3". */
  where: string;
}

/** The control-line level that puts a rail in `state`. */
export function levelFor(state: PowerState, activeLow: boolean): BinaryValue {
  return (state === "on") !== activeLow ? 1 : 0;
}

/** The rail state a control-line `level` means. */
export function stateFor(level: BinaryValue, activeLow: boolean): PowerState {
  return (level === 1) !== activeLow ? "on" : "off";
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** How long a line may take to show a new state (default for {@link ReadbackOptions}). */
export const DEFAULT_READBACK_MS = 50;

/** How `set` reads back. */
export interface ReadbackOptions {
  /** How long control and sense lines may take to show the new state (default 50 ms). */
  readbackMs?: number;
  clock?: Clock;
}

/** A `PowerSwitch` over one control line (and optional sense line) per node. */
export class LinePowerSwitch implements PowerSwitch {
  readonly name: string;
  readonly #nodes: ReadonlyMap<number, NodeLines>;
  readonly #release: () => Promise<void>;
  readonly #readbackMs: number;
  readonly #clock: Clock;
  #closed = false;

  /** `release` runs once on close, after the lines are detached (e.g. closes I2C buses). */
  constructor(
    name: string,
    nodes: ReadonlyMap<number, NodeLines>,
    release: () => Promise<void> = () => Promise.resolve(),
    readback: ReadbackOptions = {},
  ) {
    this.name = name;
    this.#nodes = nodes;
    this.#release = release;
    this.#readbackMs = readback.readbackMs ?? DEFAULT_READBACK_MS;
    this.#clock = readback.clock ?? realClock;
  }

  /** Nodes this switch has wiring for, ascending. */
  get nodes(): number[] {
    return [...this.#nodes.keys()].sort((a, b) => a - b);
  }

  #lines(node: number): NodeLines {
    if (this.#closed) throw new DriverClosedError(this.name);
    const lines = this.#nodes.get(node);
    if (!lines) {
      throw new HardwareFault(`${this.name} power driver has no wiring for node ${node}`);
    }
    return lines;
  }

  async set(node: number, state: PowerState): Promise<void> {
    const lines = this.#lines(node);
    const level = levelFor(state, lines.activeLow);
    const rail: BinaryValue = state === "on" ? 1 : 0;
    let seen: BinaryValue;
    let sensed: BinaryValue | undefined;
    try {
      await lines.control.write(level);
      seen = await this.#settle(lines.control, level);
      if (seen === level && lines.sense) sensed = await this.#settle(lines.sense, rail);
    } catch (e) {
      throw new HardwareFault(
        `node ${node}: could not switch power ${state} (${lines.where}): ${reason(e)}`,
        { node, state, where: lines.where },
      );
    }
    if (seen !== level) {
      throw new HardwareFault(
        `node ${node}: power ${state} did not take: ${lines.where} reads ${seen} after ` +
          `writing ${level} (line stuck, shorted or overloaded)`,
        { node, state, where: lines.where, wrote: level, read: seen },
      );
    }
    if (sensed !== undefined && sensed !== rail) {
      throw new HardwareFault(
        `node ${node}: power ${state} did not take: the rail sense (${lines.where}) reads ` +
          `${sensed} ${this.#readbackMs} ms after switching (rail stuck ${sensed ? "on" : "off"})`,
        { node, state, where: lines.where, sensed },
      );
    }
  }

  /** Reads `line` until it shows `want` or the readback window has passed; the last level. */
  async #settle(line: GpioLine, want: BinaryValue): Promise<BinaryValue> {
    const deadline = this.#clock.now() + this.#readbackMs;
    for (;;) {
      const v = await line.read();
      if (v === want || this.#clock.now() >= deadline) return v;
      await this.#clock.sleep(Math.min(5, Math.max(1, deadline - this.#clock.now())));
    }
  }

  async read(node: number): Promise<PowerState> {
    const lines = this.#lines(node);
    try {
      if (lines.sense) return (await lines.sense.read()) === 1 ? "on" : "off";
      return stateFor(await lines.control.read(), lines.activeLow);
    } catch (e) {
      throw new HardwareFault(
        `node ${node}: could not read power (${lines.where}): ${reason(e)}`,
        { node, where: lines.where },
      );
    }
  }

  /**
   * Lets go of every line and then the underlying hardware, leaving every rail as it is: lines
   * that can stay configured without us (sysfs, expander pins) are detached, not unexported,
   * so a hub restart or upgrade never cuts a running node's power.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const lines = [...this.#nodes.values()].flatMap((
      l,
    ) => (l.sense ? [l.control, l.sense] : [l.control]));
    await Promise.allSettled(lines.map((l) => l.detach ? l.detach() : l.unexport()));
    await this.#release();
  }
}
