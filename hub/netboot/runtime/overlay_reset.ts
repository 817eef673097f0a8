/**
 * Resetting a node to the base image: emptying its writable overlay (see
 * render/overlays.ts for where overlays live).
 */
import { join } from "node:path";
import { lstat, mkdir, readdir, rm } from "node:fs/promises";
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { overlayPath } from "../render/overlays.ts";

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
