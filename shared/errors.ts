/**
 * The errors clients see: a stable machine `code` and a message written for the person at
 * the terminal or behind `curl`. Shared by hub, agent and CLI. What a code means as an HTTP
 * status is decided at the hub's edge (hub/http/errors.ts), what it means as an exit code by
 * the CLI.
 */

/** Every stable error code of the API (docs/api.md lists what each means). */
export const ERROR_CODES = [
  "bad_request",
  "invalid_node",
  "invalid_range",
  "invalid_body",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "cancelled",
  "payload_too_large",
  "unsupported_media_type",
  "too_many_connections",
  "not_ready",
  "busy",
  "hardware_fault",
  "insufficient_storage",
  "internal",
] as const;

/** One of the stable error codes. */
export type ErrorCode = typeof ERROR_CODES[number];

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** True if `code` is one of the stable error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && CODES.has(code);
}

/** An error meant to be shown to a user, with a stable code. */
export class ClusterError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Optional structured detail (e.g. which field was wrong). */
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "ClusterError";
    this.code = code;
    this.details = details;
  }
}

/** A node id or node set that does not name nodes of this module. */
export class NodeRangeError extends ClusterError {
  constructor(message: string) {
    super("invalid_range", message);
    this.name = "NodeRangeError";
  }
}
