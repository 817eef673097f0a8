/**
 * Per-node writable overlays: `<overlayDir>/nodeNN`, exported read-write to that node's
 * address only. The shared root stays read-only; a node keeps its own state here, and
 * resetting a node to the base image means emptying its overlay.
 */
import { join } from "node:path";
import { lstat, mkdir, readdir, rm } from "node:fs/promises";
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

/** What a reset did. */
export interface ResetResult {
  node: number;
  path: string;
  /** Top-level entries removed. */
  removed: number;
}

/**
 * Empties node `node`'s overlay (creating it if missing), so it boots as the base image.
 * Only LAN bays have overlays; the directory itself is kept so its NFS export stays valid.
 */
export async function resetOverlay(
  map: NodeMap,
  overlayDir: string,
  node: number,
): Promise<ResetResult> {
  const bay = bayOf(map, node);
  if (!bay) throw new ClusterError("invalid_node", `node ${node} does not exist`);
  if (!bay.lan) {
    throw new ClusterError(
      "conflict",
      `node ${node} is a Pi Zero W bay: it boots from its SD card and has no overlay`,
    );
  }
  const path = overlayPath(map, overlayDir, node);
  const st = await lstat(path).catch(() => null);
  if (st && !st.isDirectory()) {
    throw new ClusterError("conflict", `overlay ${path} exists but is not a directory`);
  }
  await mkdir(path, { recursive: true, mode: 0o755 });
  const entries = await readdir(path);
  for (const e of entries) await rm(join(path, e), { recursive: true, force: true });
  return { node, path, removed: entries.length };
}
