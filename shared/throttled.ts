/**
 * The Raspberry Pi firmware's throttling flags (`get_throttled`), read by both agents and
 * decoded here for the hub, the CLI and the dashboard alike. Bits 0–3 are the state now,
 * bits 16–19 whether it happened since boot.
 */

/** The flags, by name. */
export interface ThrottledFlags {
  underVoltage: boolean;
  freqCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  underVoltageOccurred: boolean;
  freqCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTempLimitOccurred: boolean;
}

/** Flag name → bit. */
export const THROTTLED_BITS: Record<keyof ThrottledFlags, number> = {
  underVoltage: 0,
  freqCapped: 1,
  throttled: 2,
  softTempLimit: 3,
  underVoltageOccurred: 16,
  freqCappedOccurred: 17,
  throttledOccurred: 18,
  softTempLimitOccurred: 19,
};

/** Decodes the raw bitmask. */
export function decodeThrottled(raw: number): ThrottledFlags {
  const out = {} as ThrottledFlags;
  for (const [name, bit] of Object.entries(THROTTLED_BITS)) {
    out[name as keyof ThrottledFlags] = ((raw >>> bit) & 1) === 1;
  }
  return out;
}

/**
 * Reads `get_throttled` as the firmware gives it: the sysfs file's bare hex (`50005`) or
 * `vcgencmd get_throttled`'s `throttled=0x50005`. Undefined for anything else.
 */
export function parseThrottled(text: string): number | undefined {
  const m = /^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i.exec(text.trim());
  return m ? parseInt(m[1], 16) : undefined;
}

/** Short words for the set flags, e.g. "under-voltage now; since boot: under-voltage, throttled". */
export function describeThrottled(raw: number): string {
  const f = decodeThrottled(raw);
  const now = [
    f.underVoltage && "under-voltage",
    f.freqCapped && "frequency capped",
    f.throttled && "throttled",
    f.softTempLimit && "soft temperature limit",
  ].filter((x) => x);
  const past = [
    f.underVoltageOccurred && "under-voltage",
    f.freqCappedOccurred && "frequency capped",
    f.throttledOccurred && "throttled",
    f.softTempLimitOccurred && "soft temperature limit",
  ].filter((x) => x);
  if (!now.length && !past.length) return "no throttling";
  return [
    now.length ? `${now.join(", ")} now` : "",
    past.length ? `since boot: ${past.join(", ")}` : "",
  ]
    .filter((x) => x).join("; ");
}
