/**
 * Register-level model of the NXP PCA9555 (same map: PCA9535, TI TCA9555). Input registers
 * 0/1 are read-only; registers above 7 do not exist. Undriven inputs read high (the
 * PCA9555's internal 100 kΩ pull-ups). Output latches reset to 0xff, configuration to 0xff
 * (all inputs).
 */
import { type RegisterSpec, TwoPortModel, type TwoPortModelOptions } from "./fake_two_port.ts";

/** The PCA9555 register map. */
export const PCA9555_REGISTERS: Record<number, RegisterSpec> = {
  0: { name: "Input port 0", kind: "pins", port: 0, reset: 0, readOnly: true },
  1: { name: "Input port 1", kind: "pins", port: 1, reset: 0, readOnly: true },
  2: { name: "Output port 0", kind: "latch", port: 0, reset: 0xff },
  3: { name: "Output port 1", kind: "latch", port: 1, reset: 0xff },
  4: { name: "Polarity inversion 0", kind: "polarity", port: 0, reset: 0 },
  5: { name: "Polarity inversion 1", kind: "polarity", port: 1, reset: 0 },
  6: { name: "Configuration 0", kind: "direction", port: 0, reset: 0xff },
  7: { name: "Configuration 1", kind: "direction", port: 1, reset: 0xff },
};

/** A modelled PCA9555 (PCA9535 / TCA9555). */
export class Pca9555Model extends TwoPortModel {
  readonly chip: string;

  constructor(opts: TwoPortModelOptions & { chip?: string } = {}) {
    super(PCA9555_REGISTERS, 1, opts);
    this.chip = opts.chip ?? "PCA9555";
  }

  /** The PCA9555's pointer toggles within a register pair (0↔1, 2↔3, …). */
  override nextRegister(reg: number): number {
    return reg ^ 1;
  }
}
