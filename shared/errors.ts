/**
 * Typed errors shared by hub, agent and CLI. Every error has a stable machine `code`
 * and a message written for the person at the terminal or behind `curl`.
 */

/** Stable error codes, mapped to HTTP statuses by the hub. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_node: 400,
  invalid_range: 400,
  invalid_body: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  cancelled: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_connections: 429,
  not_ready: 503,
  busy: 503,
  hardware_fault: 502,
  insufficient_storage: 507,
  internal: 500,
} as const;

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ERROR_STATUS;

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

  /** The HTTP status this error maps to. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A node id or node set that does not name nodes of this module. */
export class NodeRangeError extends ClusterError {
  constructor(message: string) {
    super("invalid_range", message);
    this.name = "NodeRangeError";
  }
}

/** The control-plane hardware did not do what it was told (read-back mismatch, bus error). */
export class HardwareFaultError extends ClusterError {
  constructor(message: string, details?: unknown) {
    super("hardware_fault", message, details);
    this.name = "HardwareFaultError";
  }
}
