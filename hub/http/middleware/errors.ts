/** Errors as the one JSON shape every client sees; never a stack trace. */
import type { Context } from "hono";
import { ClusterError, type ErrorCode } from "../../../shared/errors.ts";

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
  return c.json(body, err.status as 400);
}

/** Maps any thrown value to a ClusterError; unknown errors are logged, never shown. */
export function toClusterError(err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  console.error("internal error:", err);
  return new ClusterError("internal", "internal error in the hub; see its log");
}
