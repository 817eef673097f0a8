/**
 * LED patterns as data: each is a period and the edges inside it. Pure: no time, no I/O.
 */
import type { LedMode, Model } from "../schemas.ts";
import type { BinaryValue } from "../pins/gpio_line.ts";

/** One edge of a pattern: at `offset` ms into each period the line goes to `value`. */
export interface PatternEdge {
  readonly offset: number;
  readonly value: BinaryValue;
}

/**
 * A repeating pattern. `edges` are sorted by offset, the first at offset 0, all offsets in
 * [0, period). A constant pattern has one edge.
 */
export interface LedPattern {
  readonly name: string;
  readonly period: number;
  readonly edges: readonly PatternEdge[];
}

/** Heartbeat of LAN Pis (3B, 3B+, 4): on 900 ms, off 100 ms. */
export const HEARTBEAT: LedPattern = {
  name: "heartbeat",
  period: 1000,
  edges: [{ offset: 0, value: 1 }, { offset: 900, value: 0 }],
};

/** Heartbeat of the Pi Zero W, the vendor's inverse: off 900 ms, on 100 ms. */
export const HEARTBEAT_INVERTED: LedPattern = {
  name: "heartbeat-inverted",
  period: 1000,
  edges: [{ offset: 0, value: 0 }, { offset: 900, value: 1 }],
};

/** Identify: a fast 5 Hz blink, 100 ms on, 100 ms off. */
export const IDENTIFY: LedPattern = {
  name: "identify",
  period: 200,
  edges: [{ offset: 0, value: 1 }, { offset: 100, value: 0 }],
};

/** Fault (hub unreachable): two short blinks, then dark for the rest of the second. */
export const FAULT: LedPattern = {
  name: "fault",
  period: 1000,
  edges: [
    { offset: 0, value: 1 },
    { offset: 100, value: 0 },
    { offset: 200, value: 1 },
    { offset: 300, value: 0 },
  ],
};

/** Steadily on. */
export const ON: LedPattern = { name: "on", period: 1000, edges: [{ offset: 0, value: 1 }] };

/** Steadily off. */
export const OFF: LedPattern = { name: "off", period: 1000, edges: [{ offset: 0, value: 0 }] };

/** True when the pattern never changes level (on, off). */
export function isConstant(p: LedPattern): boolean {
  return p.edges.every((e) => e.value === p.edges[0].value);
}

/** The pattern for a mode on a model. Only the heartbeat depends on the model. */
export function patternFor(mode: LedMode, model: Model): LedPattern {
  switch (mode) {
    case "heartbeat":
      return model === "pi0w" ? HEARTBEAT_INVERTED : HEARTBEAT;
    case "identify":
      return IDENTIFY;
    case "fault":
      return FAULT;
    case "on":
      return ON;
    case "off":
      return OFF;
  }
}

/**
 * The pattern for a mode in LED terms (lit or dark), the same on every model: what the kernel
 * LED engine hands over, where the device tree carries the polarity (`active_low` on the Zero
 * W, so that its GPIO shows the inverted heartbeat of {@link patternFor}).
 */
export function ledPatternFor(mode: LedMode): LedPattern {
  return patternFor(mode, "pi3b+");
}
