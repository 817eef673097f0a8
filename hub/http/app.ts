/**
 * The hub's HTTP app: JSON errors for everything (never a stack trace), bearer auth on
 * every mutating route, a body size limit, and the REST routes declared in `routes/`.
 * Every REST route's handler runs the checks in `checks/` (auth, writable store, body) itself,
 * in that order, before the route's own handler: no middleware hop on any REST route. Errors
 * become the one JSON shape of `errors.ts`; `observe.ts` reports each answer.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { ClusterError } from "../../shared/errors.ts";
import { type AppAuth, authorize } from "./checks/auth.ts";
import { readBody } from "./checks/body.ts";
import { errorResponse, toClusterError } from "./errors.ts";
import { refusedWhenStoreFull, requireWritableStore } from "./checks/store_writable.ts";
import type { StoreHealth } from "../store/store.ts";
import { type Handler, type HttpObserver, observeMounted, timed } from "./observe.ts";
import { buildOpenApi } from "./openapi.ts";
import type { MountedRouteDoc, RouteSpec } from "./route.ts";

/** What the app is built from. */
export interface AppOptions {
  routes: readonly RouteSpec[];
  auth: AppAuth;
  version: string;
  /** Told about every answered request: method, matched route pattern, status, seconds. */
  observe?: HttpObserver;
  /** Whether the store takes writes; mutating calls are refused (507) while it does not. */
  storeHealth?: () => StoreHealth;
  /**
   * Extra sub-apps mounted at the root (dashboard, metrics); `docs` go in the OpenAPI document,
   * and a documented route marked `read` gets the `read` auth rule (`?token=` allowed).
   */
  mounts?: { path: string; app: Hono; docs?: MountedRouteDoc[] }[];
}

/** What a route without a body schema accepts: no body, or `{}`. */
const NO_BODY = z.strictObject({});

/**
 * A route that takes no body (`/nodes/:id/clear`, `/jobs/:id/cancel`, …) still checks one
 * that is sent, so a typo'd field or a form body is an error, not silently ignored while the
 * route acts. GET bodies are ignored, as HTTP has them mean nothing.
 */
async function refuseBody(c: Context, method: RouteSpec["method"]): Promise<undefined> {
  const req = c.req.raw;
  if (method === "get") return undefined;
  // Not a hot path (no heartbeat comes here): looking at `req.body` is fine.
  if (req.headers.get("content-length") === "0" || req.body === null) return undefined;
  await readBody(c, NO_BODY, true);
  return undefined;
}

/**
 * The handler of a known path asked with a method it does not answer: a 405 naming the allowed
 * methods, not a 404. A route of its own, so no other request passes through it; `Allow` lists
 * exactly the methods the routes declare.
 */
function methodNotAllowed(methods: readonly string[]): Handler {
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

/** Builds the Hono app. */
export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  app.onError((err, c) => errorResponse(c, toClusterError(err)));
  const observe = opts.observe;
  app.notFound((c) => {
    const res = errorResponse(
      c,
      new ClusterError(
        "not_found",
        `no route ${c.req.method} ${c.req.path}; see GET /api/v1/openapi.json`,
      ),
    );
    observe?.(c.req.method, "unmatched", res.status, 0);
    return res;
  });
  const openapi = buildOpenApi(
    opts.routes,
    opts.version,
    (opts.mounts ?? []).flatMap((m) => m.docs ?? []),
  );
  app.get("/api/v1/openapi.json", timed("/api/v1/openapi.json", observe, (c) => c.json(openapi)));

  const storeHealth = opts.storeHealth;
  for (const spec of opts.routes) {
    const pattern = `/api/v1${spec.path}`;
    const needsStore = storeHealth !== undefined && refusedWhenStoreFull(spec);
    app.on(
      spec.method.toUpperCase(),
      pattern,
      timed(pattern, observe, async (c) => {
        authorize(c, opts.auth, spec.auth, spec.tokenQuery);
        if (needsStore) requireWritableStore(storeHealth);
        const body = spec.body
          ? await readBody(c, spec.body, spec.bodyOptional)
          : await refuseBody(c, spec.method);
        return await spec.handler(c, body);
      }),
    );
  }
  // A known path with the wrong method is a 405, not a 404.
  const byPath = new Map<string, string[]>([["/openapi.json", ["GET"]]]);
  for (const s of opts.routes) {
    byPath.set(s.path, [...(byPath.get(s.path) ?? []), s.method.toUpperCase()]);
  }
  for (const [path, methods] of byPath) {
    app.all(`/api/v1${path}`, timed(`/api/v1${path}`, observe, methodNotAllowed(methods)));
  }
  for (const m of opts.mounts ?? []) {
    const reads = (m.docs ?? []).filter((d) => d.read);
    if (!observe && reads.length === 0) {
      app.route(m.path, m.app);
      continue;
    }
    const wrapped = new Hono();
    if (observe) wrapped.use("*", observeMounted(observe));
    for (const d of reads) {
      wrapped.use(d.path, async (c, next) => {
        authorize(c, opts.auth, "read", true);
        await next();
      });
    }
    wrapped.route("/", m.app);
    app.route(m.path, wrapped);
  }
  return app;
}
