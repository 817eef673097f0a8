/**
 * Per-node TFTP directories `<tftpRoot>/<node ip>/` (dnsmasq `tftp-unique-root=ip`): each
 * holds the node's own cmdline.txt and boot.ipxe and a symlink to every other file of the shared boot
 * partition, so the node boots the shared firmware with its own kernel command line.
 */
import { lstat, readdir, symlink } from "node:fs/promises";
import type { Clock } from "../../../shared/clock.ts";
import type { NodeMap } from "../../../shared/node_map.ts";
import { overlayBays } from "../render/overlays.ts";
import { IPXE_SCRIPT } from "../render/dnsmasq.ts";

/** Files every node dir has its own copy of (rendered per node), never linked. */
const PER_NODE = new Set(["cmdline.txt", IPXE_SCRIPT]);

const IP_DIR = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;

/** Creates missing symlinks in every LAN node's boot dir; returns how many it created. */
export async function linkBootDirs(map: NodeMap, tftpRoot: string): Promise<number> {
  const shared = (await readdir(tftpRoot)).filter((n) => !IP_DIR.test(n) && !PER_NODE.has(n));
  let created = 0;
  for (const bay of overlayBays(map)) {
    const dir = `${tftpRoot}/${bay.ip}`;
    if (!(await lstat(dir).catch(() => null))?.isDirectory()) continue;
    for (const name of shared) {
      const link = `${dir}/${name}`;
      if (await lstat(link).catch(() => null)) continue; // a node-specific file or link wins
      await symlink(`../${name}`, link);
      created++;
    }
  }
  return created;
}

/**
 * How often, with overlays, the per-node boot dirs are checked for boot files that appeared
 * in the TFTP root since the last apply (an image installed or updated while the hub runs).
 */
export const BOOT_DIR_RELINK_MS = 5000;

/**
 * dnsmasq serves a node only from its own boot dir once that exists (`tftp-unique-root`): a
 * boot file put into the TFTP root after the last apply must be linked there too, or the Pi
 * gets "not found" for it. Links what is missing every {@link BOOT_DIR_RELINK_MS} until
 * `signal` aborts; a failed round is retried by the next.
 */
export async function relinkBootDirsEvery(
  map: NodeMap,
  tftpRoot: string,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await clock.sleep(BOOT_DIR_RELINK_MS, signal);
    if (signal.aborted) break;
    await linkBootDirs(map, tftpRoot).catch(() => 0);
  }
}
