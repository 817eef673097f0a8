/**
 * The edge's one error table: what each layer's typed errors (hardware, power, store) mean to
 * a client, what each error code means as an HTTP status, and the one JSON shape every client
 * sees; never a stack trace.
 */
import type { Context } from "hono";
import { ClusterError, type ErrorCode } from "../../shared/errors.ts";
import {
  BusError,
  HardwareError,
  HardwareFault,
  PinError,
  type PinErrorReason,
} from "../../shared/pins/errors.ts";
import { ControlPlaneLockError, DriverClosedError, PowerConfigError } from "../power/errors.ts";
import { StoreError, StoreFullError, StoreLockedError } from "../store/store.ts";

/** The HTTP status of each error code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
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
};

const PIN_CODES: Record<PinErrorReason, ErrorCode> = {
  invalid: "bad_request",
  in_use: "conflict",
  released: "conflict",
};

/** The error code a layer error is shown with; undefined for an error of no layer. */
export function layerErrorCode(err: unknown): ErrorCode | undefined {
  if (err instanceof HardwareError) {
    if (err instanceof PinError) return PIN_CODES[err.reason];
    if (err instanceof BusError) return "bad_request";
    if (err instanceof HardwareFault) return "hardware_fault";
    if (err instanceof DriverClosedError) return "not_ready";
    if (err instanceof PowerConfigError) return "invalid_body";
    if (err instanceof ControlPlaneLockError) return err.held ? "conflict" : "bad_request";
    return "hardware_fault";
  }
  if (err instanceof StoreError) {
    if (err instanceof StoreFullError) return "insufficient_storage";
    if (err instanceof StoreLockedError) return "conflict";
    return "internal";
  }
  return undefined;
}

/**
 * `err` as the error a client sees: a ClusterError as it is, a layer error under its code
 * (message and details kept); undefined for anything else (a bug, not to be shown).
 */
export function clientError(err: unknown): ClusterError | undefined {
  if (err instanceof ClusterError) return err;
  const code = layerErrorCode(err);
  if (code === undefined) return undefined;
  const { message, details } = err as HardwareError | StoreError;
  return new ClusterError(code, message, details);
}

/** Codes answered with a `Retry-After` header: the hub is full, not the request wrong. */
export const RETRY_CODES: ReadonlySet<ErrorCode> = new Set(["too_many_connections", "busy"]);

/** Seconds a refused client is asked to wait (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/** JSON error response in the one shape every client sees. */
export function errorResponse(c: Context, err: ClusterError): Response {
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: err.code, message: err.message },
  };
  if (err.details !== undefined) body.error.details = err.details;
  if (err.code === "unauthorized") c.header("WWW-Authenticate", 'Bearer realm="cluster-hub"');
  if (RETRY_CODES.has(err.code)) c.header("Retry-After", String(RETRY_AFTER_SECONDS));
  return c.json(body, ERROR_STATUS[err.code] as 400);
}

/** Maps any thrown value to a ClusterError; unknown errors are logged, never shown. */
export function toClusterError(err: unknown): ClusterError {
  const shown = clientError(err);
  if (shown) return shown;
  console.error("internal error:", err);
  return new ClusterError("internal", "internal error in the hub; see its log");
}
