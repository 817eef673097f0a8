/**
 * A known path with the wrong method is a 405 naming the allowed methods, not a 404.
 * Hand-written rather than Hono's method-not-allowed middleware: that one wraps every request
 * (the heartbeat ingest path included) and adds HEAD to `Allow`; this is a route of its own.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { errorResponse } from "../errors.ts";
import type { Handler } from "./observe.ts";

/** The 405 handler for a path that answers only `methods`. */
export function methodNotAllowed(methods: readonly string[]): Handler {
  return (c) => {
    c.header("Allow", methods.join(", "));
    return errorResponse(
      c,
      new ClusterError(
        "method_not_allowed",
        `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(" or ")}`,
      ),
    );
  };
}
