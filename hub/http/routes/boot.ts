/** Boot supervision routes: a node's boot timelines, and clearing a quarantined node. */
import { NodeBoot } from "../../../shared/boot_schemas.ts";
import { NodeStatus } from "../../../shared/schemas.ts";
import type { BootMonitor } from "../../boot/boot_monitor.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import type { QuarantineList } from "../../cluster/quarantine.ts";
import { route, type RouteSpec } from "../route.ts";

/** The services the boot routes call. */
export interface BootRouteDeps {
  status: NodeStatusReader;
  boot: BootMonitor;
  quarantine: QuarantineList;
}

/** The boot route specs. */
export function bootRoutes(deps: BootRouteDeps): RouteSpec[] {
  const { status, boot, quarantine } = deps;
  return [
    route({
      method: "get",
      path: "/nodes/:id/boot",
      summary:
        "A node's latest boot timeline and the one before (power-on, DHCP, TFTP, NFS root, heartbeat, running)",
      auth: "read",
      response: NodeBoot,
      errors: ["invalid_range"],
      handler: (c) => {
        const id = status.nodeId(c.req.param("id") ?? "");
        const { latest, previous } = boot.timelines(id);
        const body: NodeBoot = {
          node: id,
          latest,
          previous,
          quarantine: quarantine.get(id),
          timeouts: { ...boot.timeouts },
        };
        return c.json(body);
      },
    }),
    route({
      method: "post",
      path: "/nodes/:id/clear",
      summary: "Clear a quarantined node: bulk runs include it again (cm node clear N)",
      auth: "admin",
      response: NodeStatus,
      errors: ["invalid_range", "conflict"],
      handler: (c) => {
        const id = status.nodeId(c.req.param("id") ?? "");
        quarantine.clear(id);
        return c.json(status.node(id));
      },
    }),
  ];
}
