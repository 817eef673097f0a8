/**
 * Microchip MCP23017 register map with IOCON.BANK = 0 (the power-on default), and a start-up
 * check that the chip is still in that mode.
 */
import { HardwareFault } from "../errors.ts";
import { hex, type I2cBus } from "../i2c/i2c_bus.ts";
import type { ExpanderRegisterMap } from "./register_map.ts";

/** IOCON (mirrored at 0x0A and 0x0B with BANK = 0). */
export const MCP23017_IOCON = 0x0a;
/** IOCON.BANK: set, the chip uses the other (port-grouped) register map. */
export const MCP23017_IOCON_BANK = 0x80;

/**
 * Under BANK = 0, 0x0A is IOCON and its BANK bit reads 0. Under BANK = 1, 0x0A is OLATA, so a
 * set bit 7 proves the wrong mode (a clear one cannot be told apart; BANK = 1 only happens
 * if other software set it).
 */
async function verifyBank0(bus: I2cBus, address: number): Promise<void> {
  const iocon = await bus.readByteData(address, MCP23017_IOCON);
  if (iocon & MCP23017_IOCON_BANK) {
    throw new HardwareFault(
      `MCP23017 at ${hex(address)} on ${bus.name} has IOCON.BANK = 1; the driver needs the ` +
        `power-on BANK = 0 register map (power-cycle the chip or clear IOCON.BANK)`,
    );
  }
}

/** MCP23017: IODIR 0x00/0x01, IPOL 0x02/0x03, GPIO 0x12/0x13, OLAT 0x14/0x15. */
export const MCP23017: ExpanderRegisterMap = {
  chip: "MCP23017",
  direction: [0x00, 0x01],
  polarity: [0x02, 0x03],
  pins: [0x12, 0x13],
  latch: [0x14, 0x15],
  verify: verifyBank0,
};
