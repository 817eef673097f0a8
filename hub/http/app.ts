/**
 * The hub's HTTP app: JSON errors for everything (never a stack trace), bearer auth on
 * every mutating route, a body size limit, and the REST routes declared in `routes/`.
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { ClusterError } from "../../shared/errors.ts";
import { parseOrThrow } from "../../shared/schemas.ts";
import { bearerToken, secretMatches } from "../auth/secrets.ts";
import { buildOpenApi } from "./openapi.ts";
import type { RouteSpec } from "./route_spec.ts";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Secrets the app checks bearer tokens against. */
export interface AppAuth {
  adminToken: string;
  agentKey: string;
}

/** What the app is built from. */
export interface AppOptions {
  routes: readonly RouteSpec[];
  auth: AppAuth;
  version: string;
  /** Told about every answered request: method, matched route pattern, status, seconds. */
  observe?: HttpObserver;
  /** Extra sub-apps mounted at the root (dashboard, metrics, event stream). */
  mounts?: { path: string; app: Hono }[];
}

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

/** Checks the bearer token for a route's auth rule. */
export function authorize(c: Context, auth: AppAuth, rule: RouteSpec["auth"]): void {
  if (rule === "public") return;
  const token = bearerToken(c.req.header("authorization"));
  if (!token) {
    throw new ClusterError(
      "unauthorized",
      "this call needs a bearer token: add -H 'Authorization: Bearer <token>' (the hub printed it on first start; it is in the data directory's token file)",
    );
  }
  const ok = (rule === "agent" && secretMatches(token, auth.agentKey)) ||
    secretMatches(token, auth.adminToken);
  if (!ok) throw new ClusterError("unauthorized", "the bearer token is not valid for this call");
}

function tooLarge(limit: number): ClusterError {
  return new ClusterError("payload_too_large", `request body is larger than ${limit} bytes`);
}

/**
 * Reads a request body as text, refusing more than `limit` bytes: at once when the declared
 * Content-Length says so, else while streaming, so a huge chunked body is never buffered.
 */
export async function readLimitedText(req: Request, limit: number): Promise<string> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return "";
  if (declared !== null) return await req.text();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Reads and validates a JSON body. */
export async function readBody<T>(
  c: Context,
  schema: { safeParse(v: unknown): unknown },
  optional = false,
): Promise<T> {
  const text = await readLimitedText(c.req.raw, MAX_BODY_BYTES);
  if (text.trim() === "") {
    if (!optional) throw new ClusterError("invalid_body", "this call needs a JSON body");
    return parseOrThrow(schema as never, {}, "body") as T;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ClusterError(
      "invalid_body",
      `the body is not valid JSON (${e instanceof Error ? e.message : e})`,
    );
  }
  return parseOrThrow(schema as never, value, "body") as T;
}

/** Receives one answered request (for request metrics). */
export type HttpObserver = (method: string, route: string, status: number, seconds: number) => void;

type Handler = (c: Context) => Response | Promise<Response>;

/**
 * Wraps a handler so that its answer, errors included, is reported to `observe` under the
 * route pattern it was registered with. (Cheaper than a middleware on every request: the
 * pattern is known here, nothing has to look it up.)
 */
function timed(route: string, observe: HttpObserver | undefined, handler: Handler): Handler {
  if (!observe) return handler;
  return async (c) => {
    const start = performance.now();
    let res: Response;
    try {
      res = await handler(c);
    } catch (e) {
      res = errorResponse(c, toClusterError(e));
    }
    observe(c.req.method, route, res.status, (performance.now() - start) / 1000);
    return res;
  };
}

/** A middleware reporting requests of a mounted sub-app by matched route pattern. */
function observeMounted(observe: HttpObserver): MiddlewareHandler {
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
  const openapi = buildOpenApi(opts.routes, opts.version);
  app.get("/api/v1/openapi.json", timed("/api/v1/openapi.json", observe, (c) => c.json(openapi)));

  for (const spec of opts.routes) {
    const pattern = `/api/v1${spec.path}`;
    app.on(
      spec.method.toUpperCase(),
      pattern,
      timed(pattern, observe, async (c) => {
        authorize(c, opts.auth, spec.auth);
        const body = spec.body ? await readBody(c, spec.body, spec.bodyOptional) : undefined;
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
    app.all(
      `/api/v1${path}`,
      timed(`/api/v1${path}`, observe, (c) => {
        c.header("Allow", methods.join(", "));
        return errorResponse(
          c,
          new ClusterError(
            "method_not_allowed",
            `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(" or ")}`,
          ),
        );
      }),
    );
  }
  for (const m of opts.mounts ?? []) {
    if (!observe) {
      app.route(m.path, m.app);
      continue;
    }
    const wrapped = new Hono();
    wrapped.use("*", observeMounted(observe));
    wrapped.route("/", m.app);
    app.route(m.path, wrapped);
  }
  return app;
}
