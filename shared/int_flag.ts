/** The one parser for whole-number command-line flags and environment settings. */
import { ClusterError } from "./errors.ts";

/** Options of {@link parseIntFlag}. */
export interface IntFlagOptions {
  /** Accept surrounding whitespace (environment variables); the message quotes the text as given. */
  trim?: boolean;
  /** Appended to the error message, e.g. " (see --help)". */
  hint?: string;
}

/**
 * Parses `text` as a whole number from `min` to `max` (digits only: no sign, no exponent).
 * Throws a `bad_request` ClusterError naming the flag `name` otherwise.
 */
export function parseIntFlag(
  name: string,
  text: string,
  min: number,
  max: number,
  opts: IntFlagOptions = {},
): number {
  const digits = opts.trim ? text.trim() : text;
  const n = Number(digits);
  if (!/^[0-9]+$/.test(digits) || n < min || n > max) {
    throw new ClusterError(
      "bad_request",
      `${name} must be a whole number from ${min} to ${max}, not "${text}"${opts.hint ?? ""}`,
    );
  }
  return n;
}
