/**
 * Builds the OpenAPI 3.1 document from the route specs: every status a route can answer (the
 * error codes it implies or declares, grouped by status, each with the one JSON error shape),
 * the other media types of its answer, public routes marked `security: []` and reads
 * `[{}, readToken, adminToken]` (a token only with `--read-token required`). Checked by
 * `tests/hub/openapi.test.ts` (matches the served routes) and `tests/hub/openapi_lint.test.ts`
 * (Redocly's recommended rules).
 */
import { z } from "zod";
import type { ErrorCode } from "../../shared/errors.ts";
import type { MountedRouteDoc, RouteSpec } from "./route.ts";
import { ERROR_STATUS, RETRY_CODES } from "./errors.ts";
import { refusedWhenStoreFull } from "./checks/store_writable.ts";

/** What each error code means, for the response descriptions (see docs/api.md). */
const ERROR_WHEN: Record<ErrorCode, string> = {
  bad_request: "a bad query parameter or header",
  invalid_node: "the heartbeat does not tell which bay it comes from",
  invalid_range: "a node id or node set that does not name nodes of this module",
  invalid_body: "malformed JSON, wrong types or unknown fields",
  unauthorized: "missing or wrong bearer token",
  forbidden: "the token may not do this",
  not_found: "no such job, or the bay has no console",
  method_not_allowed: "a known path with another method",
  conflict:
    "a run is already going, or the node is driven by one, or the state forbids it, or the console has the most viewers",
  cancelled: "the job was cancelled on request",
  payload_too_large: "a body over 64 KiB",
  unsupported_media_type: "a body sent with a Content-Type other than application/json",
  too_many_connections:
    "this address holds as many connections (or streams, or sockets) as the hub allows one address; see Retry-After",
  not_ready: "the nodes are not ready, or the hub is still starting (reading its power rails)",
  busy:
    "the hub holds as many connections (or streams, or sockets) as it allows in all; see Retry-After",
  hardware_fault: "a rail did not follow a command, or the driver failed",
  insufficient_storage:
    "the data directory is full: the hub cannot record the change (the message names the directory)",
  internal: "a bug in the hub (it logs it; the body never carries a stack trace)",
};

/** An empty schema `{}` matches every value. */
function isEmptySchema(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** `{anyOf: [{}, …]}` matches every value: says so plainly as `{}`, recursively. */
function simplify(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(simplify);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = simplify(x);
  for (const key of ["anyOf", "oneOf"]) {
    const alts = out[key];
    if (Array.isArray(alts) && alts.some(isEmptySchema)) {
      delete out[key];
    }
  }
  return out;
}

function jsonSchema(schema: z.core.$ZodType): unknown {
  return simplify(z.toJSONSchema(schema, { unrepresentable: "any", io: "input" }));
}

/** The error body, its `code` limited to `codes`. */
function errorSchema(codes: readonly ErrorCode[]): unknown {
  return jsonSchema(
    z.strictObject({
      error: z.strictObject({
        code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
        message: z.string(),
        details: z.unknown().optional(),
      }),
    }),
  );
}

/** `/nodes/:id` → `/api/v1/nodes/{id}` */
export function openApiPath(path: string): string {
  return "/api/v1" + path.replace(/:([A-Za-z_]+)/g, "{$1}");
}

/** The TCP gate may refuse any connection, whatever the route (docs/live.md, "Limits"). */
const GATE_ERRORS: readonly ErrorCode[] = ["too_many_connections", "busy"];

/** Every error code a spec can answer with: the declared ones and those the spec implies. */
export function routeErrors(s: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  // A route without a body schema refuses a body other than `{}` (app.ts) the same ways.
  if (s.body || s.method !== "get") {
    codes.add("invalid_body");
    codes.add("payload_too_large");
    codes.add("unsupported_media_type");
  }
  if (s.query && Object.keys(s.query).length > 0) codes.add("bad_request");
  if (s.auth !== "public") codes.add("unauthorized");
  if (refusedWhenStoreFull(s)) codes.add("insufficient_storage");
  for (const c of s.errors ?? []) codes.add(c);
  for (const c of GATE_ERRORS) codes.add(c);
  codes.add("internal");
  return [...codes];
}

/** Error responses for `codes`, one per status. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) {
    byStatus.set(ERROR_STATUS[c], [...(byStatus.get(ERROR_STATUS[c]) ?? []), c]);
  }
  const out: Record<string, unknown> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const cs = byStatus.get(status)!;
    out[String(status)] = {
      description: cs.map((c) => `\`${c}\`: ${ERROR_WHEN[c]}`).join("; "),
      ...(status === 401
        ? { headers: { "WWW-Authenticate": { schema: { type: "string" } } } }
        : cs.some((c) => RETRY_CODES.has(c))
        ? { headers: { "Retry-After": { schema: { type: "string" } } } }
        : {}),
      content: { "application/json": { schema: errorSchema(cs) } },
    };
  }
  return out;
}

/** `post /nodes/:id/power` → `postNodesIdPower`. */
function operationId(method: string, path: string): string {
  return `${method}${path.replace(/[/:.-]+(\w)/g, (_, c: string) => c.toUpperCase())}`;
}

/** A read takes no token unless the hub runs with `--read-token required`. */
const READ_SECURITY = [{}, { readToken: [] }, { adminToken: [] }];

function operation(s: RouteSpec): Record<string, unknown> {
  const params = [
    ...[...s.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...Object.entries(s.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
    ...Object.entries(s.headers ?? {}).map(([name, description]) => ({
      name,
      in: "header",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  const status = s.status ?? 200;
  const content: Record<string, unknown> = {};
  if (s.response) content["application/json"] = { schema: jsonSchema(s.response) };
  for (const [type, description] of Object.entries(s.media ?? {})) {
    content[type] = { schema: { type: "string", description } };
  }
  const hasContent = Object.keys(content).length > 0;
  const success = (description: string) => ({
    description,
    ...(hasContent ? { content } : {}),
  });
  const responses: Record<string, unknown> = {
    [String(status)]: success(status === 101 ? "switching to the WebSocket protocol" : s.summary),
    ...Object.fromEntries(
      Object.entries(s.otherStatus ?? {}).map(([st, when]) => [st, success(when)]),
    ),
    ...errorResponses(routeErrors(s)),
  };
  const op: Record<string, unknown> = {
    summary: s.summary,
    operationId: operationId(s.method, s.path),
    parameters: params,
    responses,
    security: s.auth === "public"
      ? []
      : s.auth === "read"
      ? READ_SECURITY
      : [{ [s.auth === "agent" ? "agentKey" : "adminToken"]: [] }],
  };
  if (s.body) {
    op.requestBody = {
      required: !s.bodyOptional,
      content: { "application/json": { schema: jsonSchema(s.body) } },
    };
  }
  return op;
}

function mountedOperation(d: MountedRouteDoc): Record<string, unknown> {
  return {
    summary: d.summary,
    operationId: operationId(d.method, d.path),
    security: d.read ? READ_SECURITY : [],
    responses: {
      "200": {
        description: d.description,
        content: { [d.contentType]: { schema: { type: "string" } } },
      },
      ...errorResponses([...GATE_ERRORS, ...(d.read ? ["unauthorized" as const] : []), "internal"]),
    },
  };
}

/** The OpenAPI document for `specs` (below /api/v1) and `mounted` (served at their own path). */
export function buildOpenApi(
  specs: readonly RouteSpec[],
  version: string,
  mounted: readonly MountedRouteDoc[] = [],
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of specs) (paths[openApiPath(s.path)] ??= {})[s.method] = operation(s);
  for (const d of mounted) (paths[d.path] ??= {})[d.method] = mountedOperation(d);
  return {
    openapi: "3.1.0",
    info: {
      title: "BitScope Cluster Module hub API",
      version,
      description: 'Every error answers with the JSON body `{"error":{"code","message"}}`; each ' +
        "operation lists the codes it can answer with. A known path called with another method " +
        "answers `405 method_not_allowed` with an `Allow` header, an unknown path " +
        "`404 not_found`. Reads need no token unless the hub runs with `--read-token required` " +
        "(then the read token or the admin token; `/health` and this document stay public); " +
        "everything else takes a bearer token. Any " +
        "connection may be refused with `429 too_many_connections` or `503 busy` (with " +
        "`Retry-After`) when the hub's connection caps are reached.",
      license: {
        name: "UNLICENSED: no licence has been granted; the repository states none",
        url: "https://docs.npmjs.com/cli/configuring-npm/package-json#license",
      },
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "hub admin token" },
        readToken: {
          type: "http",
          scheme: "bearer",
          description:
            "read-only token (DATA/read-token), needed for reads with --read-token required",
        },
        agentKey: {
          type: "http",
          scheme: "bearer",
          description:
            "the node's own agent key `nodeNN.…` (or the old shared key while allowed, or the admin token)",
        },
      },
    },
    paths,
  };
}
