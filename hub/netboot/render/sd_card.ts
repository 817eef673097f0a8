/**
 * The bay LED's device-tree overlay line, and the firmware files of the Pi Zero W's SD card
 * (`deno task image -- --board zerow`): its `config.txt` and `cmdline.txt`. Pure renderers.
 *
 * The line makes the kernel's LED node `/sys/class/leds/bay` for the agent's kernel LED
 * engine: Raspberry Pi's own `gpio-led` overlay on Raspberry Pi OS, ours (the same
 * parameters, `scripts/image/gpio-led-overlay.dts` compiled by the image builders into
 * `overlays/gpio-led.dtbo`) on Debian's kernels, which ship no Raspberry Pi overlays.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { generatedHeader } from "./dnsmasq.ts";

/** BCM GPIO of the bay LED. */
export const BAY_LED_GPIO = 21;

/**
 * `dtoverlay=gpio-led,gpio=21,label=bay` (`activeLow`: `,active_low=1`, the Zero W, whose
 * heartbeat shows inverted on GPIO 21: the kernel's brightness is the same on every board).
 */
export function bayLedOverlayLine(activeLow: boolean): string {
  return `dtoverlay=gpio-led,gpio=${BAY_LED_GPIO},label=bay${activeLow ? ",active_low=1" : ""}`;
}

/** Files of the Zero W card's FAT partition (the firmware reads them at power-on). */
export const ZERO_CARD_KERNEL = "vmlinuz";
/** See {@link ZERO_CARD_KERNEL}. */
export const ZERO_CARD_INITRD = "initrd.img";
/** The device tree of Debian's armel kernel for the Zero W. */
export const ZERO_CARD_DTB = "bcm2835-rpi-zero-w.dtb";

/**
 * `config.txt` of the Zero W card: Debian's armel kernel (ARMv6) and the card's initramfs,
 * the mainline device tree (`upstream_kernel=1`, named explicitly), the UART console, the bay
 * LED (active low), and no Bluetooth (our `cm-disable-bt` overlay).
 */
export function renderZeroCardConfigTxt(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  return [
    generatedHeader(),
    "# Raspberry Pi firmware settings of the Pi Zero W card (deno task image -- --board zerow).",
    "upstream_kernel=1",
    `device_tree=${ZERO_CARD_DTB}`,
    `kernel=${ZERO_CARD_KERNEL}`,
    `initramfs ${ZERO_CARD_INITRD} followkernel`,
    "enable_uart=1",
    "# The bay LED as a kernel LED (/sys/class/leds/bay) for the agent's kernel LED engine.",
    bayLedOverlayLine(true),
    "# No Bluetooth (a headless node): the PL011 stays a plain tty for the console.",
    "dtoverlay=cm-disable-bt",
    "",
  ].join("\n");
}

/**
 * `cmdline.txt` of the Zero W card: the console prefix, the root on the card's second
 * partition, the hub (`cm.hub=`, default the hub's address on the cluster network: a line
 * anyone can edit on the card's FAT partition from any computer), and with `node` the bay the
 * card is pinned to (`cm.node=N`; without it the card learns its node from the hub, see
 * docs/agent.md).
 */
export function renderZeroCardCmdline(
  map: NodeMap,
  s: NetbootSettings,
  opts: { node?: number; hub?: string } = {},
): string {
  validateSettings(map, s);
  const hub = opts.hub ?? `http://${map.hub.ip}:4242`;
  if (!/^https?:\/\/[^\s'"\\$`]+$/.test(hub)) {
    throw new ClusterError("bad_request", `hub "${hub}" must be a plain http(s) URL`);
  }
  const parts = [s.cmdlinePrefix.trim(), "root=/dev/mmcblk0p2", "rootwait", `cm.hub=${hub}`];
  if (opts.node !== undefined) {
    const bay = bayOf(map, opts.node);
    if (!bay) throw new ClusterError("invalid_node", `node ${opts.node} does not exist`);
    parts.push(`cm.node=${bay.id}`);
  }
  return parts.filter((p) => p !== "").join(" ") + "\n";
}
