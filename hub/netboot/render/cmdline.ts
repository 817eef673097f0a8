/** The nodes' kernel command line (`cmdline.txt`) for an NFS root served by the hub. */
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { overlayPath } from "./overlays.ts";

/**
 * One line: `root=/dev/nfs nfsroot=HUB:/pxe/root,vers=3 ro ip=dhcp rootwait`. With `node`,
 * adds `cm.node=N` (the agent's id) and, when overlays are on, `cm.overlay=HUB:DIR` naming
 * the node's writable export.
 */
export function renderCmdline(map: NodeMap, s: NetbootSettings, node?: number): string {
  validateSettings(map, s);
  const parts = [
    s.cmdlinePrefix.trim(),
    "root=/dev/nfs",
    `nfsroot=${map.hub.ip}:${s.paths.nfsRoot},vers=${s.nfsVersion}`,
    "ro",
    "ip=dhcp",
    "rootwait",
  ].filter((p) => p !== "");
  if (node !== undefined) {
    const bay = bayOf(map, node);
    if (!bay) throw new ClusterError("invalid_node", `node ${node} does not exist`);
    parts.push(`cm.node=${bay.id}`);
    if (s.overlays) {
      parts.push(`cm.overlay=${map.hub.ip}:${overlayPath(map, s.paths.overlayDir, node)}`);
    }
  }
  return parts.join(" ") + "\n";
}
