/**
 * Per-node writable overlays: `<overlayDir>/nodeNN`, exported read-write to that node's
 * address only. The shared root stays read-only; a node keeps its own state here, and
 * resetting a node to the base image means emptying its overlay (runtime/overlay_reset.ts).
 * The hub also puts the node's own agent key here ({@link OVERLAY_AGENT_KEY}, mode 0600),
 * which the node's cm-overlay binds over /etc/cluster-agent/key at boot.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";

/** Bays that get an overlay: the LAN bays (Pi Zero W boot from SD, not the network). */
export function overlayBays(map: NodeMap) {
  return map.bays.filter((b) => b.lan);
}

/** The overlay directory of node `node` under `overlayDir`. */
export function overlayPath(map: NodeMap, overlayDir: string, node: number): string {
  const bay = bayOf(map, node);
  if (!bay) throw new ClusterError("invalid_node", `node ${node} does not exist`);
  return `${overlayDir}/${bay.hostname}`;
}

/** The node's own agent key, in its overlay (the node sees it as /cm/state/agent-key). */
export const OVERLAY_AGENT_KEY = "agent-key";
