/** `GET /nodes/:id/agent-key` (admin): node N's own agent key, for an agent installed by hand. */
import { z } from "zod";
import type { AgentKeys } from "../../auth/agent_keys.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { route, type RouteSpec } from "../route.ts";

/** The answer: the node and its key. */
export const AgentKeyResponse = z.strictObject({
  node: z.number().int(),
  key: z.string(),
});

/** The agent-key route. */
export function agentKeyRoutes(deps: { status: NodeStatusReader; keys: AgentKeys }): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/nodes/:id/agent-key",
      summary:
        "Node N's own agent key (admin): for an agent installed by hand, e.g. a Pi Zero W's SD card",
      auth: "admin",
      response: AgentKeyResponse,
      errors: ["invalid_range"],
      handler: (c) => {
        const node = deps.status.nodeId(c.req.param("id") ?? "");
        return c.json({ node, key: deps.keys.keyFor(node) });
      },
    }),
  ];
}
