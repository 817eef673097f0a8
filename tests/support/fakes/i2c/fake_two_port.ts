/**
 * The behaviour MCP23017 and PCA9555 share, modelled once: 16 pins in two 8-bit ports, a
 * direction register (1 = input), an output latch, an input-polarity register and a pin
 * register whose reads return pin levels. Each chip supplies its register table.
 *
 * Pin levels: an output pin shows its latch bit; an input shows what the test drives on it
 * (`drive`), else its idle level (the chip's pull-up register, or a fixed level). Rails (`addRail`) model what a
 * power pin switches: a rail follows its control pin unless `stuck`; its sense pin (if any)
 * reads the rail; a stuck rail without a sense pin holds the control pin itself (a shorted
 * or overloaded line), so only a read of the pin level, not of the latch, sees it.
 *
 * Every change of what the chip drives is logged in `driveLog` and every rail change in
 * `railLog`, so a test sees start-up glitches that the final state hides.
 */
import type { BinaryValue } from "../../../../shared/pins/gpio_line.ts";
import { hex } from "../../../../shared/pins/i2c/i2c_bus.ts";
import { type I2cDeviceModel, ModelViolation } from "./fake_device.ts";

/** What a register does. */
export type RegisterKind = "direction" | "polarity" | "latch" | "pins" | "pullup" | "plain";

/** One register of a chip. `port` 0 = A / port 0, 1 = B / port 1. */
export interface RegisterSpec {
  name: string;
  kind: RegisterKind;
  port: 0 | 1;
  /** Value after power-on reset. */
  reset: number;
  /** Writes are rejected. */
  readOnly?: boolean;
  /** Index of the storage cell (registers mirrored at two addresses share one). */
  cell?: number;
}

/** A modelled power rail switched by a control pin. */
export interface Rail {
  readonly control: number;
  readonly sense?: number;
  /** The rail is on when the control pin is low. */
  readonly activeLow: boolean;
  /** Holds the rail in this state whatever the pin does (null: the rail follows). */
  stuck: "on" | "off" | null;
}

/** Options common to the chip models. */
export interface TwoPortModelOptions {
  /** Register values other than the power-on reset values, by address. */
  initial?: Record<number, number>;
}

/** One change of what the chip drives on a pin (null: not driven, i.e. an input). */
export interface DriveChange {
  /** Number of the register write that caused it (1-based). */
  write: number;
  pin: number;
  driven: BinaryValue | null;
}

/** One change of a rail's state. */
export interface RailChange {
  write: number;
  control: number;
  state: "on" | "off";
}

/** Register-level model of a 16-pin two-port expander. */
export abstract class TwoPortModel implements I2cDeviceModel {
  abstract readonly chip: string;
  readonly violations: ModelViolation[] = [];
  readonly driveLog: DriveChange[] = [];
  readonly railLog: RailChange[] = [];
  readonly rails: Rail[] = [];
  /** Register writes so far. */
  writes = 0;
  readonly #specs: Map<number, RegisterSpec>;
  readonly #cells = new Map<number, number>();
  readonly #external = new Map<number, BinaryValue>();
  readonly #idleLevel: BinaryValue;

  protected constructor(
    specs: Record<number, RegisterSpec>,
    idleLevel: BinaryValue,
    opts: TwoPortModelOptions,
  ) {
    this.#specs = new Map(Object.entries(specs).map(([a, s]) => [Number(a), s]));
    this.#idleLevel = idleLevel;
    for (const [addr, spec] of this.#specs) this.#cells.set(spec.cell ?? addr, spec.reset);
    for (const [addr, value] of Object.entries(opts.initial ?? {})) {
      const spec = this.#spec(Number(addr), "initialise");
      this.#cells.set(spec.cell ?? Number(addr), value);
    }
  }

  #violation(message: string): never {
    const v = new ModelViolation(`${this.chip}: ${message}`);
    this.violations.push(v);
    throw v;
  }

  #spec(reg: number, what: string): RegisterSpec {
    const spec = this.#specs.get(reg);
    if (!spec) this.#violation(`cannot ${what} unknown register ${hex(reg)}`);
    return spec;
  }

  #cellOf(kind: RegisterKind, port: 0 | 1): number {
    for (const [addr, s] of this.#specs) {
      if (s.kind === kind && s.port === port) return this.#cells.get(s.cell ?? addr)!;
    }
    throw new Error(`${this.chip} model has no ${kind} register for port ${port}`);
  }

  #setCell(kind: RegisterKind, port: 0 | 1, value: number): void {
    for (const [addr, s] of this.#specs) {
      if (s.kind === kind && s.port === port) this.#cells.set(s.cell ?? addr, value);
    }
  }

  #bit(kind: RegisterKind, pin: number): BinaryValue {
    return ((this.#cellOf(kind, pin < 8 ? 0 : 1) >> (pin & 7)) & 1) as BinaryValue;
  }

  /** The register's current stored value (latch, direction…), not a pin read. */
  register(reg: number): number {
    const spec = this.#spec(reg, "inspect");
    return this.#cells.get(spec.cell ?? reg)!;
  }

  /** True when `pin` is configured as an output. */
  isOutput(pin: number): boolean {
    return this.#bit("direction", pin) === 0;
  }

  /** What the chip drives on `pin`: its latch bit for an output, null for an input. */
  driven(pin: number): BinaryValue | null {
    return this.isOutput(pin) ? this.#bit("latch", pin) : null;
  }

  /** Drives input `pin` from outside (null: leave it to the idle level). */
  drive(pin: number, level: BinaryValue | null): void {
    if (level === null) this.#external.delete(pin);
    else this.#external.set(pin, level);
  }

  /** Wires a rail to `control` (and optionally a sense input that reads 1 when it is on). */
  addRail(rail: { control: number; sense?: number; activeLow?: boolean }): Rail {
    const r: Rail = { activeLow: false, ...rail, stuck: null };
    this.rails.push(r);
    return r;
  }

  #rawLevel(pin: number): BinaryValue {
    const idle = this.#hasKind("pullup") ? this.#bit("pullup", pin) : this.#idleLevel;
    return this.driven(pin) ?? this.#external.get(pin) ?? idle;
  }

  #hasKind(kind: RegisterKind): boolean {
    for (const s of this.#specs.values()) if (s.kind === kind) return true;
    return false;
  }

  /** The state of `rail` now. */
  railState(rail: Rail): "on" | "off" {
    if (rail.stuck) return rail.stuck;
    return (this.#rawLevel(rail.control) === 1) !== rail.activeLow ? "on" : "off";
  }

  /** The level on `pin`, as the pin register sees it before polarity inversion. */
  level(pin: number): BinaryValue {
    for (const rail of this.rails) {
      if (rail.sense === pin && !this.isOutput(pin)) return this.railState(rail) === "on" ? 1 : 0;
      if (rail.control === pin && rail.sense === undefined && rail.stuck) {
        return (rail.stuck === "on") !== rail.activeLow ? 1 : 0;
      }
    }
    return this.#rawLevel(pin);
  }

  #pinsByte(port: 0 | 1): number {
    let v = 0;
    for (let b = 0; b < 8; b++) {
      const pin = port * 8 + b;
      const invert = !this.isOutput(pin) && this.#bit("polarity", pin) === 1;
      v |= (this.level(pin) ^ (invert ? 1 : 0)) << b;
    }
    return v;
  }

  readRegister(reg: number): number {
    const spec = this.#spec(reg, "read");
    if (spec.kind === "pins") return this.#pinsByte(spec.port);
    return this.#cells.get(spec.cell ?? reg)!;
  }

  writeRegister(reg: number, value: number): void {
    const spec = this.#spec(reg, "write");
    if (spec.readOnly) {
      this.#violation(`register ${hex(reg)} (${spec.name}) is read-only`);
    }
    this.checkWrite(spec, value);
    const drivenBefore = Array.from({ length: 16 }, (_, p) => this.driven(p));
    const railsBefore = this.rails.map((r) => this.railState(r));
    if (spec.kind === "pins") this.#setCell("latch", spec.port, value);
    else this.#cells.set(spec.cell ?? reg, value);
    this.writes++;
    for (let p = 0; p < 16; p++) {
      const d = this.driven(p);
      if (d !== drivenBefore[p]) this.driveLog.push({ write: this.writes, pin: p, driven: d });
    }
    this.rails.forEach((r, i) => {
      const s = this.railState(r);
      if (s !== railsBefore[i]) {
        this.railLog.push({ write: this.writes, control: r.control, state: s });
      }
    });
  }

  /** Chip-specific checks of a write (e.g. unsupported configuration bits). */
  protected checkWrite(_spec: RegisterSpec, _value: number): void {}

  /** Reports a violation from a subclass check. */
  protected reject(message: string): never {
    this.#violation(message);
  }

  nextRegister(reg: number): number {
    return (reg + 1) % this.#specs.size;
  }
}
