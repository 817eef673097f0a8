/** Builds the OpenAPI 3.1 document from the route specs. */
import { z } from "zod";
import { ErrorBody } from "../../shared/schemas.ts";
import type { RouteSpec } from "./route.ts";

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { unrepresentable: "any", io: "input" });
}

/** `/nodes/:id` → `/api/v1/nodes/{id}` */
export function openApiPath(path: string): string {
  return "/api/v1" + path.replace(/:([A-Za-z_]+)/g, "{$1}");
}

/** The OpenAPI document for `specs`. */
export function buildOpenApi(
  specs: readonly RouteSpec[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorContent = { "application/json": { schema: jsonSchema(ErrorBody) } };
  for (const s of specs) {
    const params = [...s.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const query = Object.entries(s.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    }));
    const op: Record<string, unknown> = {
      summary: s.summary,
      operationId: `${s.method}${s.path.replace(/[/:]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
      parameters: [...params, ...query],
      responses: {
        [String(s.status ?? 200)]: {
          description: "success",
          content: s.response
            ? { "application/json": { schema: jsonSchema(s.response) } }
            : undefined,
        },
        "400": { description: "bad input", content: errorContent },
        ...(s.auth === "public"
          ? {}
          : { "401": { description: "missing or wrong bearer token", content: errorContent } }),
      },
    };
    if (s.auth !== "public") {
      op.security = [{ [s.auth === "agent" ? "agentKey" : "adminToken"]: [] }];
    }
    if (s.body) {
      (op.responses as Record<string, unknown>)["415"] = {
        description: "a body sent with a Content-Type other than application/json",
        content: errorContent,
      };
      op.requestBody = {
        required: !s.bodyOptional,
        content: { "application/json": { schema: jsonSchema(s.body) } },
      };
    }
    (paths[openApiPath(s.path)] ??= {})[s.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: "BitScope Cluster Module hub API", version },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "hub admin token" },
        agentKey: {
          type: "http",
          scheme: "bearer",
          description: "node agent key (or the admin token)",
        },
      },
    },
    paths,
  };
}
