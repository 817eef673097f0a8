/**
 * A serial line's settings (speed, character size, parity, stop bits, flow control) and
 * their termios encoding, as pure data: `serial_source.ts` hands the result to the kernel.
 * The constants are Linux's (asm-generic, the same on x86_64 and aarch64).
 */
import { z } from "zod";

/** Speeds termios can set, with their `Bnnn` constants. */
export const BAUD_CONSTANTS: Readonly<Record<number, number>> = {
  1200: 0o11,
  2400: 0o13,
  4800: 0o14,
  9600: 0o15,
  19200: 0o16,
  38400: 0o17,
  57600: 0o10001,
  115200: 0o10002,
  230400: 0o10003,
  460800: 0o10004,
  500000: 0o10005,
  576000: 0o10006,
  921600: 0o10007,
  1000000: 0o10010,
  1500000: 0o10012,
  2000000: 0o10013,
  3000000: 0o10015,
};

/** The line settings of a serial console (default 115200 8N1, no flow control). */
export const LineSettings = z.strictObject({
  baud: z.number().int().refine((b) => b in BAUD_CONSTANTS, {
    message: `baud must be one of ${Object.keys(BAUD_CONSTANTS).join(", ")}`,
  }).default(115200),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** `rtscts`: hardware flow control (the adapter's RTS/CTS wired to the node's). */
  flowControl: z.enum(["none", "rtscts"]).default("none"),
});
export type LineSettings = z.infer<typeof LineSettings>;

/** 115200 8N1, no flow control: what a Raspberry Pi's `console=serial0,115200` speaks. */
export const DEFAULT_LINE: LineSettings = LineSettings.parse({});

/** "115200 8N1" (and " rtscts" with hardware flow control). */
export function describeLine(s: LineSettings): string {
  const parity = { none: "N", even: "E", odd: "O" }[s.parity];
  return `${s.baud} ${s.dataBits}${parity}${s.stopBits}${
    s.flowControl === "rtscts" ? " rtscts" : ""
  }`;
}

// c_cflag bits (octal, as in <asm-generic/termbits.h>).
export const CSIZE = 0o60;
export const CSTOPB = 0o100;
export const CREAD = 0o200;
export const PARENB = 0o400;
export const PARODD = 0o1000;
export const HUPCL = 0o2000;
export const CLOCAL = 0o4000;
export const CRTSCTS = 0o20000000000;
const CS = { 5: 0, 6: 0o20, 7: 0o40, 8: 0o60 } as const;

/**
 * The control flags for `s`, starting from `current` (as `cfmakeraw` left them): character
 * size, parity, stop bits and flow control replaced; receiver on; modem lines ignored
 * (CLOCAL: a USB adapter has no carrier detect) and no hang-up on close.
 */
export function controlFlags(s: LineSettings, current: number): number {
  let c = current >>> 0;
  c &= ~(CSIZE | CSTOPB | PARENB | PARODD | CRTSCTS | HUPCL);
  c |= CS[s.dataBits] | CREAD | CLOCAL;
  if (s.stopBits === 2) c |= CSTOPB;
  if (s.parity !== "none") c |= PARENB;
  if (s.parity === "odd") c |= PARODD;
  if (s.flowControl === "rtscts") c |= CRTSCTS;
  return c >>> 0;
}

/** The settings `cflag` encodes (with `baud` read separately), for reading a line back. */
export function settingsOf(cflag: number, baud: number): LineSettings {
  const size = (cflag & CSIZE) as 0 | 0o20 | 0o40 | 0o60;
  const dataBits = ({ 0: 5, 0o20: 6, 0o40: 7, 0o60: 8 } as const)[size];
  const parity = (cflag & PARENB) === 0 ? "none" : (cflag & PARODD) !== 0 ? "odd" : "even";
  return {
    baud,
    dataBits,
    parity,
    stopBits: (cflag & CSTOPB) !== 0 ? 2 : 1,
    flowControl: (cflag & CRTSCTS) !== 0 ? "rtscts" : "none",
  };
}

/** The speed a `Bnnn` constant stands for, or undefined. */
export function baudOf(constant: number): number | undefined {
  for (const [baud, c] of Object.entries(BAUD_CONSTANTS)) if (c === constant) return Number(baud);
  return undefined;
}
