/**
 * HTTP routes of the netboot services. The hub mounts the app under `/api/v1`, adds bearer
 * auth to mutating methods and maps thrown {@link ClusterError}s to JSON error bodies.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { NodeMap } from "../../shared/node_map.ts";
import { bayOf } from "../../shared/node_map.ts";
import { parseNodeId } from "../../shared/range.ts";
import { ClusterError } from "../../shared/errors.ts";
import { parseOrThrow } from "../../shared/schemas.ts";
import {
  type MacsResponse,
  RenderRequest,
  type RenderResponse,
  ResetRequest,
} from "../../shared/netboot_schemas.ts";
import type { MacTable } from "./mac_learner.ts";
import type { NetbootSupervisor } from "./supervisor.ts";

/** What the routes need. */
export interface NetbootRouteDeps {
  map: NodeMap;
  macs: MacTable;
  supervisor: NetbootSupervisor;
}

/** Reads an optional JSON body: empty means `{}`; anything else must be a JSON object. */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ClusterError("bad_request", "request body is not valid JSON");
  }
}

/** Builds the netboot routes. */
export function netbootRoutes(deps: NetbootRouteDeps): Hono {
  const { map, macs, supervisor } = deps;
  const app = new Hono();

  app.get("/services", async (c) => c.json(await supervisor.services()));

  app.get("/netboot/status", async (c) => c.json(await supervisor.status()));

  app.post("/netboot/render", async (c) => {
    const req = parseOrThrow(RenderRequest, await jsonBody(c));
    const files = supervisor.render().map((f) => ({
      name: f.name,
      path: f.path,
      content: f.content,
      reload: f.reload,
    }));
    const applied = req.write ? await supervisor.apply() : null;
    return c.json({ files, applied } satisfies RenderResponse);
  });

  app.post("/netboot/apply", async (c) => {
    parseOrThrow(RenderRequest.omit({ write: true }), await jsonBody(c));
    return c.json(await supervisor.apply());
  });

  app.get("/macs", (c) => {
    const table = macs.all();
    const rows = [...table.keys()].sort((a, b) => a - b).map((node) => {
      const bay = bayOf(map, node);
      if (!bay) throw new ClusterError("internal", `MAC table names unknown node ${node}`);
      return { node, hostname: bay.hostname, ip: bay.ip, mac: table.get(node)! };
    });
    const body: MacsResponse = {
      macs: rows,
      unknown: supervisor.unknownMacs(),
      waitingFor: supervisor.waitingFor(),
    };
    return c.json(body);
  });

  app.post("/nodes/:id/reset", async (c) => {
    const node = parseNodeId(c.req.param("id"), map.bays.length);
    const req = parseOrThrow(ResetRequest, await jsonBody(c));
    return c.json(await supervisor.resetNode(node, req.force));
  });

  return app;
}
