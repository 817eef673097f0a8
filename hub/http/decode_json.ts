/**
 * One JSON decoder for every way a client sends JSON: REST bodies and WebSocket frames.
 * Size, syntax and schema are checked in that order, each with its own error code.
 */
import type { z } from "zod";
import { ClusterError } from "../../shared/errors.ts";
import { parseOrThrow } from "../../shared/schemas.ts";

/** What is being decoded, as error messages name it. */
export interface JsonSubject {
  /** "body" or "frame". */
  what: string;
  /** The payload_too_large message for `limit`. */
  tooLarge(limit: number): string;
}

/** A REST request body (its limit is in bytes, enforced while reading). */
export const BODY: JsonSubject = {
  what: "body",
  tooLarge: (limit) => `request body is larger than ${limit} bytes`,
};

/** A WebSocket text frame. */
export const FRAME: JsonSubject = {
  what: "frame",
  tooLarge: (limit) => `frames are limited to ${limit} characters`,
};

/**
 * Decodes `text` (at most `limit` characters) as JSON and validates it with `schema`.
 * `peek` sees the parsed value before validation (the WebSocket reads the request id).
 */
export function decodeJson<T>(
  schema: z.core.$ZodType<T>,
  text: string,
  limit: number,
  subject: JsonSubject = BODY,
  peek?: (value: unknown) => void,
): T {
  if (text.length > limit) throw new ClusterError("payload_too_large", subject.tooLarge(limit));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw notJson(subject, e);
  }
  peek?.(value);
  return parseOrThrow(schema, value, subject.what);
}

/** The error for a payload that does not parse as JSON (`e`: the parser's error). */
export function notJson(subject: JsonSubject, e: unknown): ClusterError {
  return new ClusterError(
    "invalid_body",
    `the ${subject.what} is not valid JSON (${e instanceof Error ? e.message : e})`,
  );
}
