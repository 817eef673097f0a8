/**
 * The one power driver: each node's rail is switched by a `GpioLine` (a Pi GPIO or an
 * expander pin) and optionally sensed by another. Written once for every line backend.
 *
 * `set` writes the control line, then reads the line back and throws a HardwareFaultError if
 * it does not show the level written (stuck or shorted line). `read` always asks the
 * hardware: the sense line when there is one (1 = rail up), else the control line's level.
 * Every failure names the node and where it is wired.
 */
import { ClusterError, HardwareFaultError } from "../../shared/errors.ts";
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

/** A `PowerSwitch` over one control line (and optional sense line) per node. */
export class LinePowerSwitch implements PowerSwitch {
  readonly name: string;
  readonly #nodes: ReadonlyMap<number, NodeLines>;
  readonly #release: () => Promise<void>;
  #closed = false;

  /** `release` runs once on close, after the lines are unexported (e.g. closes I2C buses). */
  constructor(
    name: string,
    nodes: ReadonlyMap<number, NodeLines>,
    release: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.name = name;
    this.#nodes = nodes;
    this.#release = release;
  }

  /** Nodes this switch has wiring for, ascending. */
  get nodes(): number[] {
    return [...this.#nodes.keys()].sort((a, b) => a - b);
  }

  #lines(node: number): NodeLines {
    if (this.#closed) throw new ClusterError("not_ready", `${this.name} power driver is closed`);
    const lines = this.#nodes.get(node);
    if (!lines) {
      throw new HardwareFaultError(`${this.name} power driver has no wiring for node ${node}`);
    }
    return lines;
  }

  async set(node: number, state: PowerState): Promise<void> {
    const lines = this.#lines(node);
    const level = levelFor(state, lines.activeLow);
    let seen: BinaryValue;
    try {
      await lines.control.write(level);
      seen = await lines.control.read();
    } catch (e) {
      throw new HardwareFaultError(
        `node ${node}: could not switch power ${state} (${lines.where}): ${reason(e)}`,
        { node, state, where: lines.where },
      );
    }
    if (seen !== level) {
      throw new HardwareFaultError(
        `node ${node}: power ${state} did not take: ${lines.where} reads ${seen} after ` +
          `writing ${level} (line stuck, shorted or overloaded)`,
        { node, state, where: lines.where, wrote: level, read: seen },
      );
    }
  }

  async read(node: number): Promise<PowerState> {
    const lines = this.#lines(node);
    try {
      if (lines.sense) return (await lines.sense.read()) === 1 ? "on" : "off";
      return stateFor(await lines.control.read(), lines.activeLow);
    } catch (e) {
      throw new HardwareFaultError(
        `node ${node}: could not read power (${lines.where}): ${reason(e)}`,
        { node, where: lines.where },
      );
    }
  }

  /** Releases every line (rails keep their state) and then the underlying hardware. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const lines = [...this.#nodes.values()].flatMap((
      l,
    ) => (l.sense ? [l.control, l.sense] : [l.control]));
    await Promise.allSettled(lines.map((l) => l.unexport()));
    await this.#release();
  }
}
