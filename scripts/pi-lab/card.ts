/**
 * What the Pi firmware would do with an SD card image, for the lab's emulated Zero W (QEMU has
 * no boot ROM): reads config.txt and cmdline.txt from the card's FAT partition, resolves the
 * kernel, initramfs and device tree as the firmware does (hub/power/pi_firmware.ts), and
 * applies the card's `dtoverlay=gpio-led,…` with its parameters (fdtoverlay, then fdtput for
 * the `gpio`, `label` and `active_low` parameters our overlay declares: the lab models this one
 * overlay's parameters, not the firmware's whole parameter language).
 */
import { join } from "node:path";
import { dtOverlays, PI_FIRMWARE_BOARDS, type PiBoot, resolvePiBoot } from "../../hub/power/mod.ts";

/** Byte offset of the card's first partition (scripts/image/zerow.sh: sector 8192). */
export const CARD_BOOT_OFFSET = 8192 * 512;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

/** Copies `name` from the card's boot partition to `dir`; null when it is not there. */
async function fromCard(card: string, name: string, dir: string): Promise<string | null> {
  const dest = join(dir, name.replaceAll("/", "_"));
  try {
    await run("mcopy", ["-n", "-o", "-i", `${card}@@${CARD_BOOT_OFFSET}`, `::/${name}`, dest]);
    return dest;
  } catch {
    return null;
  }
}

/** The boot of `card` on QEMU machine `machine`, its files extracted into `dir`. */
export async function cardBoot(card: string, machine: string, dir: string): Promise<PiBoot> {
  await Deno.mkdir(dir, { recursive: true });
  const text = async (name: string) => {
    const p = await fromCard(card, name, dir);
    return p ? await Deno.readTextFile(p) : null;
  };
  const config = await text("config.txt");
  const cmdline = await text("cmdline.txt");
  const names = [
    "vmlinuz",
    "initrd.img",
    "bcm2835-rpi-zero-w.dtb",
    "kernel.img",
    "bcm2708-rpi-zero-w.dtb",
  ];
  const found = new Map<string, string>();
  for (const n of names) {
    const p = await fromCard(card, n, dir);
    if (p) found.set(n, p);
  }
  const boot = resolvePiBoot(
    PI_FIRMWARE_BOARDS[machine],
    config,
    cmdline,
    (n) => found.get(n) ?? null,
  );
  // The firmware applies the overlays to the device tree it hands the kernel.
  let dtb = boot.dtb;
  for (const [i, o] of dtOverlays(config ?? "").entries()) {
    const dtbo = await fromCard(card, `overlays/${o.name}.dtbo`, dir);
    if (!dtbo) continue; // the firmware skips an overlay it does not find
    dtb = await applyDtOverlay(dtb, dtbo, o.name, o.params, join(dir, `with-overlay-${i}.dtb`));
  }
  return { ...boot, dtb };
}

/**
 * `dtb` with overlay `dtbo` applied, written to `out` (returned): what the firmware does for
 * `dtoverlay=NAME,params` (parameters modelled for our gpio-led overlay only).
 */
export async function applyDtOverlay(
  dtb: string,
  dtbo: string,
  name: string,
  params: Map<string, string>,
  out: string,
): Promise<string> {
  await run("fdtoverlay", ["-i", dtb, "-o", out, dtbo]);
  if (name === "gpio-led") await gpioLedParams(out, params);
  return out;
}

/** Applies the gpio-led overlay's parameters (gpio, label, active_low) to its node. */
async function gpioLedParams(dtb: string, params: Map<string, string>): Promise<void> {
  const node = "/cm-bay-leds/led-bay";
  const [phandle, gpio0, flags0] = (await run("fdtget", [dtb, node, "gpios"])).trim().split(/\s+/);
  const gpio = params.get("gpio") ?? gpio0;
  const flags = params.has("active_low") ? (params.get("active_low") === "0" ? "0" : "1") : flags0;
  await run("fdtput", ["-t", "u", dtb, node, "gpios", phandle, gpio, flags]);
  const label = params.get("label");
  if (label) await run("fdtput", ["-t", "s", dtb, node, "label", label]);
}
