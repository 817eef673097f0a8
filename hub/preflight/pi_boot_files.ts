/**
 * What the Raspberry Pi 3B+ firmware reads after bootcode.bin, pure: from `config.txt` (as the
 * Raspberry Pi documentation's config.txt pages describe it) the kernel, the initramfs and the
 * device tree it names. The preflight's TFTP root check requires them; the Pi ROM replay
 * (tests/netboot/pi_rom/) asks for them.
 *
 * - Conditional sections: lines under `[all]` and under the filters a 3B+ matches (`[pi3]`,
 *   `[pi3+]`) count; lines under any other filter (`[pi4]`, `[pi0]`, `[none]`, …) do not.
 * - `kernel=` names the kernel; without it a 64-bit 3B+ (`arm_64bit=1`) loads `kernel8.img`,
 *   a 32-bit one `kernel7.img`.
 * - `initramfs FILE [followkernel]` names the initramfs.
 * - `device_tree=` names the DTB. Without it the firmware picks the board's DTB: its
 *   downstream name `bcm2710-rpi-3-b-plus.dtb`, or with `upstream_kernel=1` the upstream
 *   (mainline, Debian) name `bcm2837-rpi-3-b-plus.dtb`, falling back to the downstream one
 *   when that is missing.
 * - `dtoverlay=NAME` loads `overlays/NAME.dtbo` (optional: the firmware boots without it).
 */

/** The board's device trees: mainline (Debian's linux-image-arm64) and Raspberry Pi names. */
export const PI3BPLUS_DTB = {
  upstream: "bcm2837-rpi-3-b-plus.dtb",
  downstream: "bcm2710-rpi-3-b-plus.dtb",
} as const;

const PI3BPLUS_FILTERS = new Set(["all", "pi3", "pi3+"]);

/** What config.txt says to a 3B+. */
export interface PiBootConfig {
  arm64: boolean;
  kernel: string;
  initramfs: string | null;
  /** Explicit `device_tree=`, or null (the firmware picks by board). */
  deviceTree: string | null;
  upstreamKernel: boolean;
  overlays: string[];
}

/** Reads config.txt as a 3B+ does. */
export function readConfigTxt(text: string): PiBootConfig {
  let active = true;
  const kv = new Map<string, string>();
  let initramfs: string | null = null;
  const overlays: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      active = PI3BPLUS_FILTERS.has(section[1].trim().toLowerCase());
      continue;
    }
    if (!active) continue;
    const ird = /^initramfs\s+(\S+)/.exec(line);
    if (ird) {
      initramfs = ird[1];
      continue;
    }
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "dtoverlay") overlays.push(m[2].split(",")[0].trim());
    else kv.set(m[1], m[2].trim());
  }
  const arm64 = kv.get("arm_64bit") === "1";
  return {
    arm64,
    kernel: kv.get("kernel") ?? (arm64 ? "kernel8.img" : "kernel7.img"),
    initramfs,
    deviceTree: kv.get("device_tree") || null,
    upstreamKernel: kv.get("upstream_kernel") === "1",
    overlays: overlays.filter((o) => o !== ""),
  };
}

/** The DTB names the firmware tries for a 3B+, first choice first. */
export function dtbCandidates(c: PiBootConfig): string[] {
  if (c.deviceTree) return [c.deviceTree];
  return c.upstreamKernel
    ? [PI3BPLUS_DTB.upstream, PI3BPLUS_DTB.downstream]
    : [PI3BPLUS_DTB.downstream];
}
