/** Request metrics: every answered request is reported by method, route pattern and status. */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { errorResponse, toClusterError } from "./errors.ts";

declare module "hono" {
  interface ContextVariableMap {
    /**
     * Time the handler waited on purpose (a held heartbeat answer, `holdMs`), ms: left out of
     * the request's duration, which measures the hub's work, not the agent's chosen wait.
     */
    heldMs: number;
  }
}

/** Receives one answered request (for request metrics). */
export type HttpObserver = (method: string, route: string, status: number, seconds: number) => void;

/** A route handler. */
export type Handler = (c: Context) => Response | Promise<Response>;

/**
 * Wraps a handler so that its answer, errors included, is reported to `observe` under the
 * route pattern it was registered with (the pattern is known here, nothing looks it up). A
 * wrapper, not a middleware: the REST routes, the heartbeat ingest among them, take no
 * middleware hop (docs/benchmarks.md has the figures).
 */
export function timed(route: string, observe: HttpObserver | undefined, handler: Handler): Handler {
  if (!observe) return handler;
  return async (c) => {
    const start = performance.now();
    let res: Response;
    try {
      res = await handler(c);
    } catch (e) {
      res = errorResponse(c, toClusterError(e));
    }
    const held = c.get("heldMs") ?? 0;
    observe(c.req.method, route, res.status, Math.max(0, performance.now() - start - held) / 1000);
    return res;
  };
}

/** A middleware reporting requests of a mounted sub-app by matched route pattern. */
export function observeMounted(observe: HttpObserver): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      // Requests no handler of this sub-app answered are counted once, by notFound.
      const handler = matchedRoutes(c).at(c.req.routeIndex);
      if (handler && !handler.path.endsWith("*")) {
        observe(c.req.method, handler.path, c.res.status, (performance.now() - start) / 1000);
      }
    }
  };
}
