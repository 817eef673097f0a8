/**
 * The hub's HTTP app: JSON errors for everything (never a stack trace), bearer auth on
 * every mutating route, a body size limit, and the REST routes declared in `routes/`.
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
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
  /** Middleware run before every route (e.g. request metrics). */
  middleware?: MiddlewareHandler[];
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

/** Builds the Hono app. */
export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  app.onError((err, c) => errorResponse(c, toClusterError(err)));
  app.notFound((c) =>
    errorResponse(
      c,
      new ClusterError(
        "not_found",
        `no route ${c.req.method} ${c.req.path}; see GET /api/v1/openapi.json`,
      ),
    )
  );
  for (const m of opts.middleware ?? []) app.use("*", m);
  const openapi = buildOpenApi(opts.routes, opts.version);
  app.get("/api/v1/openapi.json", (c) => c.json(openapi));

  for (const spec of opts.routes) {
    app.on(spec.method.toUpperCase(), `/api/v1${spec.path}`, async (c) => {
      authorize(c, opts.auth, spec.auth);
      const body = spec.body ? await readBody(c, spec.body, spec.bodyOptional) : undefined;
      return await spec.handler(c, body);
    });
  }
  // A known path with the wrong method is a 405, not a 404.
  const byPath = new Map<string, string[]>([["/openapi.json", ["GET"]]]);
  for (const s of opts.routes) {
    byPath.set(s.path, [...(byPath.get(s.path) ?? []), s.method.toUpperCase()]);
  }
  for (const [path, methods] of byPath) {
    app.all(`/api/v1${path}`, (c) => {
      c.header("Allow", methods.join(", "));
      return errorResponse(
        c,
        new ClusterError(
          "method_not_allowed",
          `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(" or ")}`,
        ),
      );
    });
  }
  for (const m of opts.mounts ?? []) app.route(m.path, m.app);
  return app;
}
