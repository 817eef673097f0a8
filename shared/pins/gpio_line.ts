/**
 * The `GpioLine` seam, shaped like onoff's `Gpio` (read / write / unexport) so users of
 * onoff feel at home. Backends: sysfs, GPIO character device, simulated; an I2C
 * expander's pins are `GpioLine`s too.
 */

/** A logic level. */
export type BinaryValue = 0 | 1;

/** Direction a line is configured for. */
export type Direction = "in" | "out";

/** One GPIO line, already configured for its direction. */
export interface GpioLine {
  /** The line's number as the user names it (BCM number on a Pi, pin number on an expander). */
  readonly gpio: number;
  readonly direction: Direction;
  /** Reads the current level. */
  read(): Promise<BinaryValue>;
  /** Drives the line (output lines only). */
  write(value: BinaryValue): Promise<void>;
  /** Releases the line, leaving it in the state the backend documents. Idempotent. */
  unexport(): Promise<void>;
  /**
   * Stops using the line but leaves it configured and driven as it is, for whoever opens it
   * next (a restarted hub). Only backends where the kernel or chip keeps that state have it:
   * sysfs (the line stays exported) and expander pins (the chip keeps its registers).
   */
  detach?(): Promise<void>;
}
