/**
 * What a Raspberry Pi's firmware (bootcode.bin + start.elf) does with the files the hub serves,
 * for the `qemu` power driver's emulated Pis (QEMU has no boot ROM: it is given the kernel,
 * device tree, initramfs and command line). Pure: reads `config.txt` as the firmware does
 * (`kernel=`, `initramfs FILE`, `device_tree=`, `upstream_kernel=1`, `os_prefix=`), picks the
 * board's device tree by the firmware's naming rules (downstream `bcm2710-…` names unless
 * `upstream_kernel=1`), and turns `cmdline.txt` into the kernel's command line (`serial0` is
 * the firmware's alias for the console UART). Files are looked up in the given directories in
 * order, as the ROM looks in the node's own directory before the TFTP root.
 */

/** The firmware's view of a board: its device tree names and console UART. */
export interface PiFirmwareBoard {
  /** The Raspberry Pi kernel's name, the firmware's default (`bcm2710-rpi-3-b-plus.dtb`). */
  downstreamDtb: string;
  /** The mainline name, used with `upstream_kernel=1` (`bcm2837-rpi-3-b-plus.dtb`). */
  upstreamDtb: string;
  /** What `serial0` means with Bluetooth off (`dtoverlay=disable-bt`): the PL011. */
  serial0: string;
}

/** Boards by QEMU machine. */
export const PI_FIRMWARE_BOARDS: Record<string, PiFirmwareBoard> = {
  raspi3b: {
    downstreamDtb: "bcm2710-rpi-3-b-plus.dtb",
    upstreamDtb: "bcm2837-rpi-3-b-plus.dtb",
    serial0: "ttyAMA0",
  },
  raspi0: {
    downstreamDtb: "bcm2708-rpi-zero-w.dtb",
    upstreamDtb: "bcm2835-rpi-zero-w.dtb",
    // the PL011, the UART QEMU's -serial is wired to (the firmware's serial0 on a Zero W is
    // the mini UART while Bluetooth has the PL011)
    serial0: "ttyAMA0",
  },
};

/** What QEMU boots in place of the firmware. */
export interface PiBoot {
  kernel: string;
  dtb: string;
  initrd: string | null;
  cmdline: string;
}

/** A file the firmware needs that none of the directories holds. */
export class PiFirmwareError extends Error {
  override name = "PiFirmwareError";
}

/** The settings of `config.txt` that choose what boots (the last line of a key wins). */
export function parseConfigTxt(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line || line.startsWith("[")) continue; // conditional sections are not modelled
    const init = line.match(/^initramfs\s+(\S+)/);
    if (init) {
      out.set("initramfs", init[1]);
      continue;
    }
    const kv = line.match(/^([A-Za-z0-9_]+)\s*=\s*(.*)$/);
    if (kv) out.set(kv[1], kv[2].trim());
  }
  return out;
}

/**
 * Resolves the boot. `find(name)` returns the path of `name` in the first directory holding it
 * (or null); `configTxt` and `cmdlineTxt` are those files' text (null when absent).
 */
export function resolvePiBoot(
  board: PiFirmwareBoard,
  configTxt: string | null,
  cmdlineTxt: string | null,
  find: (name: string) => string | null,
): PiBoot {
  const cfg = parseConfigTxt(configTxt ?? "");
  const upstream = cfg.get("upstream_kernel") === "1";
  // upstream_kernel=1 sets os_prefix to "upstream/" unless given; a prefix whose files are
  // missing is ignored (the firmware falls back to no prefix)
  const prefix = cfg.get("os_prefix") ?? (upstream ? "upstream/" : "");
  const pick = (name: string) => (prefix && find(prefix + name)) || find(name);
  const need = (name: string, why: string) => {
    const p = pick(name);
    if (!p) throw new PiFirmwareError(`the firmware finds no ${name} (${why})`);
    return p;
  };
  const kernelName = cfg.get("kernel") ??
    (cfg.get("arm_64bit") === "1" ? "kernel8.img" : "kernel7.img");
  const dtbName = cfg.get("device_tree") ||
    (upstream ? board.upstreamDtb : board.downstreamDtb);
  const dtbWhy = cfg.has("device_tree")
    ? "config.txt device_tree="
    : upstream
    ? "the mainline name, upstream_kernel=1"
    : "the firmware's default name: config.txt has no device_tree= and no upstream_kernel=1";
  const initName = cfg.get("initramfs");
  const cmdline = (cmdlineTxt ?? "").split("\n")[0].trim()
    .replace(/\bconsole=serial0\b/g, `console=${board.serial0}`);
  return {
    kernel: need(kernelName, "config.txt kernel="),
    dtb: need(dtbName, dtbWhy),
    initrd: initName ? need(initName, "config.txt initramfs") : null,
    cmdline,
  };
}

/** One `dtoverlay=NAME,param=value,…` line of config.txt, in the order the firmware applies them. */
export interface DtOverlay {
  name: string;
  params: Map<string, string>;
}

/** The device-tree overlays `config.txt` asks for (`dtoverlay=` lines; a bare param is `true`). */
export function dtOverlays(configTxt: string): DtOverlay[] {
  const out: DtOverlay[] = [];
  for (const raw of configTxt.split("\n")) {
    const m = raw.replace(/#.*/, "").trim().match(/^dtoverlay\s*=\s*(.+)$/);
    if (!m) continue;
    const [name, ...rest] = m[1].split(",").map((p) => p.trim());
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq < 0) params.set(p, "true");
      else params.set(p.slice(0, eq), p.slice(eq + 1));
    }
    if (name) out.push({ name, params });
  }
  return out;
}
