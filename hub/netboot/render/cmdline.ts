/**
 * What the nodes boot: `cmdline.txt` (the kernel command line for an NFS root) and, for the
 * Debian image, `config.txt` for the Raspberry Pi firmware; `boot.ipxe` (an iPXE script with
 * the same arguments) for x86 and virtual nodes.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { overlayPath } from "./overlays.ts";
import { generatedHeader } from "./dnsmasq.ts";
import { bayLedOverlayLine } from "./sd_card.ts";

/** Kernel and initrd file names in the TFTP root that the iPXE script loads. */
export const IPXE_KERNEL = "vmlinuz";
/** See {@link IPXE_KERNEL}. */
export const IPXE_INITRD = "initrd.img";

/** The arguments after the console prefix (shared by cmdline.txt and boot.ipxe). */
function bootArgs(map: NodeMap, s: NetbootSettings, node?: number): string[] {
  const parts = [
    "root=/dev/nfs",
    `nfsroot=${map.hub.ip}:${s.paths.nfsRoot},vers=${s.nfsVersion},tcp`,
    "ro",
    "ip=dhcp",
    "rootwait",
  ];
  if (node !== undefined) {
    const bay = bayOf(map, node);
    if (!bay) throw new ClusterError("invalid_node", `node ${node} does not exist`);
    parts.push(`cm.node=${bay.id}`);
    if (s.overlays) {
      parts.push(`cm.overlay=${map.hub.ip}:${overlayPath(map, s.paths.overlayDir, node)}`);
    }
  }
  return parts;
}

/**
 * One line: `root=/dev/nfs nfsroot=HUB:/pxe/root,vers=3,tcp ro ip=dhcp rootwait`. With `node`,
 * adds `cm.node=N` (the agent's id) and, when overlays are on, `cm.overlay=HUB:DIR` naming
 * the node's writable export.
 */
export function renderCmdline(map: NodeMap, s: NetbootSettings, node?: number): string {
  validateSettings(map, s);
  const parts = [s.cmdlinePrefix.trim(), ...bootArgs(map, s, node)].filter((p) => p !== "");
  return parts.join(" ") + "\n";
}

/**
 * `boot.ipxe`: what iPXE clients (x86, QEMU guests) boot. It loads `vmlinuz` and `initrd.img`
 * from the hub over TFTP and boots them with `ipxeCmdlinePrefix` and the same NFS-root
 * arguments as cmdline.txt (with `node`: that node's `cm.node` and overlay).
 */
export function renderIpxeScript(map: NodeMap, s: NetbootSettings, node?: number): string {
  validateSettings(map, s);
  const tftp = `tftp://${map.hub.ip}`;
  const args = [s.ipxeCmdlinePrefix.trim(), ...bootArgs(map, s, node)].filter((p) => p !== "");
  return [
    "#!ipxe",
    generatedHeader(),
    `kernel ${tftp}/${IPXE_KERNEL} initrd=${IPXE_INITRD} ${args.join(" ")}`,
    `initrd ${tftp}/${IPXE_INITRD}`,
    "boot",
    "",
  ].join("\n");
}

/**
 * `config.txt` for the Debian arm64 image of scripts/image/ (`configTxt: true`): 64-bit mode,
 * Debian's kernel and initramfs (copied to the TFTP root as `vmlinuz` and `initrd.img`), the
 * UART for the serial console, WiFi and Bluetooth off (the guide's default for the LAN bays).
 * `upstream_kernel=1` (as Debian's own raspi-firmware hook writes it): Debian's kernel ships
 * only the mainline device trees (`bcm2837-rpi-3-b-plus.dtb`, `bcm2711-rpi-4-b.dtb`, …), and
 * without it the firmware asks for the Raspberry Pi names (`bcm2710-rpi-3-b-plus.dtb`),
 * which are not there: the Pi ROM replay found a 3B+ fetching a kernel and no device tree.
 */
export function renderConfigTxt(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  return [
    generatedHeader(),
    "# Raspberry Pi firmware settings for the Debian image (scripts/image/build.sh --arch arm64).",
    "arm_64bit=1",
    "# Debian's kernel has the mainline device tree names (bcm2837-rpi-3-b-plus.dtb, ...).",
    "upstream_kernel=1",
    `kernel=${IPXE_KERNEL}`,
    `initramfs ${IPXE_INITRD} followkernel`,
    "enable_uart=1",
    "dtoverlay=disable-wifi",
    "dtoverlay=disable-bt",
    "# The bay LED as a kernel LED (/sys/class/leds/bay) for the agent's kernel LED engine.",
    bayLedOverlayLine(false),
    "",
  ].join("\n");
}
