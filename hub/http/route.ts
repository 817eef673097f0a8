/**
 * Routes are declared once as data: the same spec registers the Hono handler, validates the
 * body with its shared schema, picks the auth rule and writes the OpenAPI entry, so the
 * document cannot drift from the routes.
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { ErrorCode } from "../../shared/errors.ts";

/**
 * Who may call a route: anyone (`public`: health, the OpenAPI document), anyone unless the hub
 * runs with `--read-token required` (`read`: every other read; then the read or admin token),
 * the admin (`admin`), or a node agent (`agent`).
 */
export type RouteAuth = "public" | "read" | "admin" | "agent";

/** One REST route under /api/v1. */
export interface RouteSpec<B = unknown> {
  method: "get" | "post" | "put" | "delete";
  /** Hono-style path below /api/v1, e.g. "/nodes/:id/power". */
  path: string;
  summary: string;
  auth: RouteAuth;
  /**
   * The token may also come as `?token=` (a WebSocket or EventSource opened by a browser
   * cannot set headers).
   */
  tokenQuery?: boolean;
  /** Body schema; the handler receives the validated body. */
  body?: z.core.$ZodType<B>;
  /** An empty body is read as `{}` (for bodies whose fields are all optional). */
  bodyOptional?: boolean;
  /** Schema of the success response (for OpenAPI). */
  response?: z.core.$ZodType;
  /** Success status (default 200). */
  status?: number;
  /** Query parameters (for OpenAPI): name → description. */
  query?: Record<string, string>;
  /** Request headers the handler reads (for OpenAPI): name → description. */
  headers?: Record<string, string>;
  /**
   * Error codes the handler and the services it calls can answer with (for OpenAPI). The
   * generator adds those the spec itself implies: `invalid_body` and `payload_too_large` for a
   * body, `bad_request` for query parameters, `unauthorized` unless public, `internal` always.
   */
  errors?: readonly ErrorCode[];
  /** Other success statuses with the same response schema (for OpenAPI): status → when. */
  otherStatus?: Record<number, string>;
  /** Other media types of the success answer (for OpenAPI): media type → what it holds. */
  media?: Record<string, string>;
  handler: (c: Context, body: B) => Response | Promise<Response>;
}

/** Declares a route with its body type inferred from the schema. */
export function route<B = undefined>(spec: RouteSpec<B>): RouteSpec<unknown> {
  return spec as unknown as RouteSpec<unknown>;
}

/** A route served outside /api/v1 by a mounted sub-app (e.g. `/metrics`), for OpenAPI. */
export interface MountedRouteDoc {
  method: "get";
  /** Full path, e.g. "/metrics". */
  path: string;
  summary: string;
  /** Media type of the success answer. */
  contentType: string;
  /** What the answer holds. */
  description: string;
  /** A read: needs a token when the hub runs with `--read-token required`. */
  read?: boolean;
}
