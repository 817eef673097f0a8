/**
 * The rendered config files on disk: where each goes (its live path, or its name under the dry
 * directory), writing those that changed, the diff a plan shows, and the directories and
 * per-node agent keys a live apply needs beside them.
 */
import { mkdir } from "node:fs/promises";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { ApplyPlan } from "../../../shared/netboot_schemas.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import type { ReloadAction, RenderedFile } from "../render/all.ts";
import { unifiedDiff } from "../render/unified_diff.ts";
import { OVERLAY_AGENT_KEY, overlayPath } from "../render/overlays.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { linkBootDirs } from "./boot_dirs.ts";

/**
 * Where `f` goes: its live path (`dryDir` null), or `dryDir/name`. Null: a file that is
 * rendered but installed by hand (WiFi).
 */
function targetOf(f: RenderedFile, dryDir: string | null): string | null {
  return dryDir === null ? f.path : `${dryDir}/${f.name}`;
}

/**
 * Writes every file atomically where it goes, only those that changed; `owe` (live mode) is
 * told the reload of each written file.
 */
export async function writeRenderedFiles(
  files: RenderedFile[],
  dryDir: string | null,
  owe?: (reload: ReloadAction) => void,
): Promise<{ written: string[]; unchanged: string[] }> {
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const f of files) {
    const target = targetOf(f, dryDir);
    if (target === null) continue;
    if (await writeFileAtomic(target, f.content, f.mode)) {
      written.push(target);
      if (f.reload !== "none") owe?.(f.reload);
    } else unchanged.push(target);
  }
  return { written, unchanged };
}

/**
 * What writing the files would change, writing nothing: per file a unified diff against the
 * file on disk; `owe` (live mode) is told the reload of each file that would change.
 */
export async function planRenderedFiles(
  files: RenderedFile[],
  dryDir: string | null,
  owe?: (reload: ReloadAction) => void,
): Promise<ApplyPlan["files"]> {
  const out: ApplyPlan["files"] = [];
  for (const f of files) {
    const target = targetOf(f, dryDir);
    if (target === null) continue;
    const before = await Deno.readTextFile(target).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    });
    const change = before === null ? "new" : before === f.content ? "unchanged" : "changed";
    if (change !== "unchanged" && f.reload !== "none") owe?.(f.reload);
    out.push({
      name: f.name,
      target,
      change,
      diff: unifiedDiff(before, f.content, target, target),
      reload: f.reload,
    });
  }
  return out;
}

/**
 * Live mode: the directories of the lease, events and pid files, ganesha's state directory,
 * and with overlays every LAN node's overlay (with its agent key) and boot dir links.
 */
export async function prepareLiveDirs(
  map: NodeMap,
  s: NetbootSettings,
  runsGanesha: boolean,
  agentKeyFor?: (node: number) => string,
): Promise<void> {
  for (const p of [s.paths.leaseFile, s.paths.eventsFile, s.paths.pidFile]) {
    await mkdir(p.slice(0, p.lastIndexOf("/")) || "/", { recursive: true });
  }
  if (runsGanesha) await mkdir(s.paths.ganeshaStateDir, { recursive: true, mode: 0o700 });
  if (s.overlays) {
    for (const bay of map.bays.filter((b) => b.lan)) {
      await mkdir(`${s.paths.overlayDir}/${bay.hostname}`, { recursive: true, mode: 0o755 });
      await writeOverlayAgentKey(map, s.paths.overlayDir, bay.id, agentKeyFor);
    }
    await linkBootDirs(map, s.paths.tftpRoot);
  }
}

/** Writes node `node`'s own agent key (mode 0600) into its overlay under `overlayDir`, if keys are given. */
export async function writeOverlayAgentKey(
  map: NodeMap,
  overlayDir: string,
  node: number,
  agentKeyFor?: (node: number) => string,
): Promise<void> {
  const key = agentKeyFor?.(node);
  if (key === undefined) return;
  await writeFileAtomic(
    `${overlayPath(map, overlayDir, node)}/${OVERLAY_AGENT_KEY}`,
    key + "\n",
    0o600,
  );
}
