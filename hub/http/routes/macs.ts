/** MAC learning as a run, and forgetting a bay's MAC (the table itself is in netboot routes). */
import { Job, MacLearnCommand, NodeStatus } from "../../../shared/schemas.ts";
import type { NodeSettings } from "../../cluster/node_settings.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import type { MacLearning } from "../../cluster/runs/mac_learning.ts";
import { route, type RouteSpec } from "../route.ts";

/** Default wait for one bay's DHCP request while learning. */
export const DEFAULT_LEARN_TIMEOUT_MS = 90_000;

/** The MAC routes; `reapply` regenerates the netboot files after a change. */
export function macRoutes(
  deps: { status: NodeStatusReader; settings: NodeSettings; learning: MacLearning },
  reapply: () => Promise<unknown>,
): RouteSpec[] {
  const { status, settings, learning } = deps;
  return [
    route({
      method: "post",
      path: "/macs/learn",
      summary: "Learn MACs: power bays without one on, one at a time, and wait for their DHCP",
      auth: "admin",
      body: MacLearnCommand,
      bodyOptional: true,
      response: Job,
      status: 202,
      errors: ["invalid_range", "conflict", "not_ready"],
      handler: (c, body) => {
        const job = learning.learn(
          status.targetNodes(body.nodes),
          body.timeoutMs ?? DEFAULT_LEARN_TIMEOUT_MS,
        );
        c.header("Location", `/api/v1/jobs/${job.id}`);
        return c.json(job, 202);
      },
    }),
    route({
      method: "delete",
      path: "/nodes/:id/mac",
      summary: "Forget a bay's learned MAC (after swapping its Pi); netboot files are regenerated",
      auth: "admin",
      response: NodeStatus,
      errors: ["invalid_range", "conflict"],
      handler: async (c) => {
        const node = settings.forgetMac(status.nodeId(c.req.param("id") ?? ""));
        await reapply();
        return c.json(node);
      },
    }),
  ];
}
