/** NFS exports: the shared root read-only to the subnet, each overlay read-write to its node. */
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { generatedHeader } from "./dnsmasq.ts";
import { overlayBays, overlayPath } from "./overlays.ts";

const OPTIONS = "sync,no_subtree_check,no_root_squash";

/** The exports file (`/etc/exports` syntax) for `exportfs -ra`. */
export function renderExports(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const subnet = `${map.config.subnetPrefix}.0/24`;
  const lines = [
    generatedHeader(),
    "# Shared client image, read-only for every node.",
    `${s.paths.nfsRoot} ${subnet}(ro,${OPTIONS})`,
  ];
  if (s.overlays) {
    lines.push("# Per-node writable state, each read-write to its own node only.");
    for (const bay of overlayBays(map)) {
      lines.push(`${overlayPath(map, s.paths.overlayDir, bay.id)} ${bay.ip}(rw,${OPTIONS})`);
    }
  }
  return lines.join("\n") + "\n";
}
