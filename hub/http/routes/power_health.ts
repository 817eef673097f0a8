/** `GET /power-health`: the firmware's throttling flags per bay and per BitBar. */
import { PowerHealthReport } from "../../../shared/schemas.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { powerHealthReport } from "../../cluster/power_health.ts";
import { route, type RouteSpec } from "../route.ts";

/** The power-health route spec. */
export function powerHealthRoutes(deps: { status: NodeStatusReader }): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/power-health",
      summary:
        "Throttling flags the agents report (under-voltage, frequency cap, throttled, soft temperature limit) per bay, and BitBars where several bays under-volt",
      auth: "read",
      response: PowerHealthReport,
      handler: (c) => c.json(powerHealthReport(deps.status.nodes())),
    }),
  ];
}
