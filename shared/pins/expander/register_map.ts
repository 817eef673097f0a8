/**
 * What an I2C GPIO expander driver needs to know about a chip: the register of each port
 * (A/0 = pins 0–7, B/1 = pins 8–15) for direction (a 1 bit = input on both supported
 * families), output latch, pin levels and input polarity, plus an optional check run once
 * at start-up.
 */
import type { I2cBus } from "../i2c/i2c_bus.ts";

/** Register addresses of one register type, for port A/0 and port B/1. */
export type PortRegisters = readonly [number, number];

/** The register map of a 16-pin, two-port expander. */
export interface ExpanderRegisterMap {
  /** Chip name for messages, e.g. "MCP23017". */
  readonly chip: string;
  /** Direction registers; a 1 bit makes the pin an input. */
  readonly direction: PortRegisters;
  /** Output latch registers (what an output pin drives). */
  readonly latch: PortRegisters;
  /** Pin registers: reads return the level on each pin. */
  readonly pins: PortRegisters;
  /** Input polarity registers; a 1 bit inverts an input pin's reading. */
  readonly polarity: PortRegisters;
  /** Checks the chip is in the mode the map assumes; throws HardwareFault if not. */
  readonly verify?: (bus: I2cBus, address: number) => Promise<void>;
}

/** Pins per supported expander. */
export const EXPANDER_PINS = 16;
