/** Errors as the one JSON shape every client sees; never a stack trace. */
import type { Context } from "hono";
import { ClusterError } from "../../../shared/errors.ts";

/** JSON error response in the one shape every client sees. */
export function errorResponse(c: Context, err: ClusterError): Response {
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: err.code, message: err.message },
  };
  if (err.details !== undefined) body.error.details = err.details;
  if (err.code === "unauthorized") c.header("WWW-Authenticate", 'Bearer realm="cluster-hub"');
  return c.json(body, err.status as 400);
}

/** Maps any thrown value to a ClusterError; unknown errors are logged, never shown. */
export function toClusterError(err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  console.error("internal error:", err);
  return new ClusterError("internal", "internal error in the hub; see its log");
}
