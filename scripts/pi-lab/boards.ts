/**
 * The Raspberry Pi boards the Pi lab emulates, one entry each: which QEMU machine stands in for
 * the board, which Debian kernel and device tree it boots, and where its GPIO pins can be read
 * from outside the guest (the SoC's GPLEV0 register, through QMP). A board is one more entry
 * here (scripts/pi-lab/prepare.sh fetches the kernel pieces of its `arch`).
 */
import type { Model } from "../../shared/schemas.ts";

/** One emulated board. */
export interface PiBoard {
  /** The agent's model for it (what the hub shows). */
  model: Model;
  /** What `/proc/device-tree/model` reads with Debian's kernel (the mainline device tree). */
  dtModel: string;
  /** Debian architecture of its kernel and userland (prepare.sh ARCH). */
  arch: "arm64" | "armel";
  /** QEMU binary and machine. */
  qemu: string;
  machine: string;
  /** Guest memory as QEMU takes it (the machine's fixed size). */
  memory: string;
  /** The device tree, relative to the kernel package's dtbs directory. */
  dtb: string;
  /** Physical address of GPLEV0 (GPIO 0-31 pin levels) on this SoC. */
  gplev0: number;
  /** Physical address of GPFSEL2 (function of GPIO 20-29: 3 bits each; 001 = output). */
  gpfsel2: number;
  /** The bay LED's GPIO and whether it is lit low (Zero W) or high. */
  ledGpio: number;
  ledActiveLow: boolean;
  /** The kernel's serial console on this machine. */
  console: string;
  /** Arguments this QEMU machine needs on the kernel command line. */
  extraCmdline: string[];
  /** The QEMU network device that gives the guest its LAN (the SoC's USB host, dwc2). */
  netDevice: string;
}

/** Every board of the lab, by name. */
export const PI_BOARDS = {
  "pi3b+": {
    model: "pi3b+",
    dtModel: "Raspberry Pi 3 Model B+",
    arch: "arm64",
    qemu: "qemu-system-aarch64",
    machine: "raspi3b",
    memory: "1G",
    dtb: "broadcom/bcm2837-rpi-3-b-plus.dtb",
    gplev0: 0x3f200034,
    gpfsel2: 0x3f200008,
    ledGpio: 21,
    ledActiveLow: false,
    console: "ttyAMA0",
    extraCmdline: [],
    netDevice: "usb-net",
  },
  zerow: {
    model: "pi0w",
    dtModel: "Raspberry Pi Zero W",
    arch: "armel",
    qemu: "qemu-system-arm",
    machine: "raspi0",
    memory: "512M",
    dtb: "bcm2835-rpi-zero-w.dtb",
    gplev0: 0x20200034,
    gpfsel2: 0x20200008,
    ledGpio: 21,
    ledActiveLow: true,
    console: "ttyAMA0",
    // QEMU 7.2's raspi0 lacks the BCM2835 power-management block: its driver faults
    extraCmdline: ["initcall_blacklist=bcm2835_power_driver_init"],
    netDevice: "usb-net",
  },
} satisfies Record<string, PiBoard>;

/** A board's name in {@link PI_BOARDS}. */
export type PiBoardName = keyof typeof PI_BOARDS;

/** The board called `name`, or a clear error listing the ones there are. */
export function piBoard(name: string): PiBoard {
  const b = (PI_BOARDS as Record<string, PiBoard>)[name];
  if (!b) throw new Error(`no Pi lab board ${name} (boards: ${Object.keys(PI_BOARDS).join(", ")})`);
  return b;
}
