/**
 * Routes are declared once as data: the same spec registers the Hono handler, validates the
 * body with its shared schema, picks the auth rule and writes the OpenAPI entry, so the
 * document cannot drift from the routes.
 */
import type { Context } from "hono";
import type { z } from "zod";

/** Who may call a route. */
export type RouteAuth = "public" | "admin" | "agent";

/** One REST route under /api/v1. */
export interface RouteSpec<B = unknown> {
  method: "get" | "post" | "put" | "delete";
  /** Hono-style path below /api/v1, e.g. "/nodes/:id/power". */
  path: string;
  summary: string;
  auth: RouteAuth;
  /** Body schema; the handler receives the validated body. */
  body?: z.ZodType<B>;
  /** An empty body is read as `{}` (for bodies whose fields are all optional). */
  bodyOptional?: boolean;
  /** Schema of the success response (for OpenAPI). */
  response?: z.ZodType;
  /** Success status (default 200). */
  status?: number;
  /** Query parameters (for OpenAPI): name → description. */
  query?: Record<string, string>;
  handler: (c: Context, body: B) => Response | Promise<Response>;
}

/** Declares a route with its body type inferred from the schema. */
export function route<B = undefined>(spec: RouteSpec<B>): RouteSpec<unknown> {
  return spec as unknown as RouteSpec<unknown>;
}
