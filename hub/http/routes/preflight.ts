/** `GET /preflight`: the checks a bootstrap runs first, on demand. */
import { PreflightReport } from "../../../shared/preflight_schemas.ts";
import type { Preflight } from "../../preflight/preflight.ts";
import { route, type RouteSpec } from "../route.ts";

/** The preflight route spec. */
export function preflightRoutes(deps: { preflight: Preflight }): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/preflight",
      summary:
        "Preflight checks (also run before every bootstrap): rogue DHCP server, TFTP root and Pi boot files, NFS export, ip_forward, NAT rules, the hub's address, the clock",
      // It broadcasts a DHCPDISCOVER on the cluster LAN: not for anyone who can read.
      auth: "admin",
      response: PreflightReport,
      handler: async (c) => c.json(await deps.preflight.run()),
    }),
  ];
}
