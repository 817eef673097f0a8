/**
 * What a register-level chip model offers the fake bus, and the error a model throws when
 * a driver does something the real chip would not accept (or that a correct driver never
 * does). Models also keep every violation, so a test sees it even if a driver swallowed it.
 */

/** A driver broke a chip's rules: read-only or unknown register, bad value. */
export class ModelViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelViolation";
  }
}

/** A device model attached to a {@link FakeI2cBus} address. */
export interface I2cDeviceModel {
  /** Chip name for messages, e.g. "MCP23017". */
  readonly chip: string;
  /** Violations so far, oldest first. */
  readonly violations: ModelViolation[];
  /** Reads a register; throws ModelViolation for an unknown register. */
  readRegister(reg: number): number;
  /** Writes a register; throws ModelViolation for a read-only or unknown register. */
  writeRegister(reg: number, value: number): void;
  /** The register the chip's address pointer moves to after `reg` in a sequential transfer. */
  nextRegister(reg: number): number;
}
