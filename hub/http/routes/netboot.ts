/**
 * REST routes of the netboot services, declared as route specs so the hub registers them
 * with its auth, body validation and OpenAPI document like every other route.
 */
import { z } from "zod";
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { parseExactNodeId } from "../../../shared/range.ts";
import { ClusterError } from "../../../shared/errors.ts";
import {
  ApplyPlan,
  ApplyResult,
  type MacsResponse,
  MacsResponse as MacsResponseSchema,
  NetbootStatus,
  RenderRequest,
  type RenderResponse,
  RenderResponse as RenderResponseSchema,
  ResetRequest,
  ResetResponse,
  ServicesResponse,
} from "../../../shared/netboot_schemas.ts";
import { route, type RouteSpec } from "../route.ts";
import type { MacTable } from "../../netboot/runtime/mac_learner.ts";
import type { NetbootSupervisor } from "../../netboot/runtime/supervisor.ts";

/** What the routes need. */
export interface NetbootRouteDeps {
  map: NodeMap;
  macs: MacTable;
  supervisor: NetbootSupervisor;
}

/** The netboot route specs (mounted under /api/v1). */
export function netbootRoutes(deps: NetbootRouteDeps): RouteSpec[] {
  const { map, macs, supervisor } = deps;
  return [
    route({
      method: "get",
      path: "/services",
      summary:
        "dnsmasq, NFS (with nfs-ganesha: rpcbind and ganesha too) and NAT state (live or dry mode)",
      auth: "read",
      response: ServicesResponse,
      handler: async (c) => c.json(await supervisor.services()),
    }),
    route({
      method: "get",
      path: "/netboot/status",
      summary: "Netboot settings, files and service state",
      auth: "read",
      response: NetbootStatus,
      handler: async (c) => c.json(await supervisor.status()),
    }),
    route({
      method: "post",
      path: "/netboot/render",
      summary: "Render every netboot config file from the node map (write: also apply them)",
      auth: "admin",
      body: RenderRequest,
      bodyOptional: true,
      response: RenderResponseSchema,
      handler: async (c, req) => {
        const files = supervisor.render().map((f) => ({
          name: f.name,
          path: f.path,
          content: f.content,
          reload: f.reload,
        }));
        const applied = req.write ? await supervisor.apply() : null;
        return c.json({ files, applied } satisfies RenderResponse);
      },
    }),
    route({
      method: "post",
      path: "/netboot/apply",
      summary:
        "Write the configs atomically and reload the services (SIGHUP, exportfs -ra, iptables-restore); ?dry_run=true only shows the diff and the reloads",
      auth: "admin",
      body: z.strictObject({}),
      bodyOptional: true,
      response: z.union([ApplyResult, ApplyPlan]),
      query: {
        dry_run:
          "true: write and reload nothing; answer a unified diff of every rendered file against disk and the reloads an apply would run",
      },
      handler: async (c) => {
        const dry = c.req.query("dry_run");
        if (dry !== undefined && !["true", "false", "1", "0"].includes(dry)) {
          throw new ClusterError("bad_request", `dry_run must be true or false, not "${dry}"`);
        }
        if (dry === "true" || dry === "1") return c.json(await supervisor.plan());
        return c.json(await supervisor.apply());
      },
    }),
    route({
      method: "get",
      path: "/macs",
      summary: "Learned MAC table, unknown MACs seen, and the bay being learned",
      auth: "read",
      response: MacsResponseSchema,
      handler: (c) => {
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
      },
    }),
    route({
      method: "post",
      path: "/nodes/:id/reset",
      summary: "Reset a node's writable overlay to the base image (force: even while powered)",
      auth: "admin",
      body: ResetRequest,
      bodyOptional: true,
      response: ResetResponse,
      errors: ["invalid_range", "conflict"],
      handler: async (c, req) => {
        const node = parseExactNodeId(c.req.param("id") ?? "", map.bays.length);
        return c.json(await supervisor.resetNode(node, req.force));
      },
    }),
  ];
}
