/**
 * Register-level model of the Microchip MCP23017 (IOCON.BANK = 0 map). Undriven inputs read
 * high when their GPPU pull-up bit is set, else low. Writes to INTF/INTCAP
 * (read-only) or to unknown registers are rejected; setting IOCON.BANK is rejected too (the
 * driver relies on the BANK = 0 map).
 */
import { type RegisterSpec, TwoPortModel, type TwoPortModelOptions } from "./fake_two_port.ts";

const IOCON_CELL = 0x0a;

/** The MCP23017 register map with IOCON.BANK = 0. */
export const MCP23017_REGISTERS: Record<number, RegisterSpec> = {
  0x00: { name: "IODIRA", kind: "direction", port: 0, reset: 0xff },
  0x01: { name: "IODIRB", kind: "direction", port: 1, reset: 0xff },
  0x02: { name: "IPOLA", kind: "polarity", port: 0, reset: 0 },
  0x03: { name: "IPOLB", kind: "polarity", port: 1, reset: 0 },
  0x04: { name: "GPINTENA", kind: "plain", port: 0, reset: 0 },
  0x05: { name: "GPINTENB", kind: "plain", port: 1, reset: 0 },
  0x06: { name: "DEFVALA", kind: "plain", port: 0, reset: 0 },
  0x07: { name: "DEFVALB", kind: "plain", port: 1, reset: 0 },
  0x08: { name: "INTCONA", kind: "plain", port: 0, reset: 0 },
  0x09: { name: "INTCONB", kind: "plain", port: 1, reset: 0 },
  0x0a: { name: "IOCON", kind: "plain", port: 0, reset: 0, cell: IOCON_CELL },
  0x0b: { name: "IOCON", kind: "plain", port: 1, reset: 0, cell: IOCON_CELL },
  0x0c: { name: "GPPUA", kind: "pullup", port: 0, reset: 0 },
  0x0d: { name: "GPPUB", kind: "pullup", port: 1, reset: 0 },
  0x0e: { name: "INTFA", kind: "plain", readOnly: true, port: 0, reset: 0 },
  0x0f: { name: "INTFB", kind: "plain", readOnly: true, port: 1, reset: 0 },
  0x10: { name: "INTCAPA", kind: "plain", readOnly: true, port: 0, reset: 0 },
  0x11: { name: "INTCAPB", kind: "plain", readOnly: true, port: 1, reset: 0 },
  0x12: { name: "GPIOA", kind: "pins", port: 0, reset: 0 },
  0x13: { name: "GPIOB", kind: "pins", port: 1, reset: 0 },
  0x14: { name: "OLATA", kind: "latch", port: 0, reset: 0 },
  0x15: { name: "OLATB", kind: "latch", port: 1, reset: 0 },
};

/** A modelled MCP23017. */
export class Mcp23017Model extends TwoPortModel {
  readonly chip = "MCP23017";

  constructor(opts: TwoPortModelOptions = {}) {
    super(MCP23017_REGISTERS, 0, opts);
  }

  protected override checkWrite(spec: RegisterSpec, value: number): void {
    if (spec.name === "IOCON" && (value & 0x80) !== 0) {
      this.reject("IOCON.BANK = 1 changes the register map; the model supports BANK = 0 only");
    }
  }
}
