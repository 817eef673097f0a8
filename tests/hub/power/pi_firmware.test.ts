import assert from "node:assert/strict";
import {
  parseConfigTxt,
  PI_FIRMWARE_BOARDS,
  PiFirmwareError,
  resolvePiBoot,
} from "../../../hub/power/pi_firmware.ts";

const board = PI_FIRMWARE_BOARDS.raspi3b;
/** A TFTP root holding `files` (names relative to it), looked up in `dirs` order. */
const finder = (files: string[], dirs = ["/pxe/boot/10.42.0.1", "/pxe/boot"]) => (name: string) =>
  dirs.map((d) => `${d}/${name}`).find((p) => files.includes(p)) ?? null;

Deno.test("pi firmware: config.txt keys, initramfs line, comments and sections", () => {
  const c = parseConfigTxt(
    "# x\narm_64bit=1\nkernel=vmlinuz # Debian's\ninitramfs initrd.img followkernel\n[pi4]\nkernel=k\n",
  );
  assert.equal(c.get("arm_64bit"), "1");
  assert.equal(c.get("initramfs"), "initrd.img");
  assert.equal(c.get("kernel"), "k", "sections are not modelled: the last line wins");
});

Deno.test("pi firmware: upstream_kernel=1 picks the mainline device tree; serial0 is the PL011", () => {
  const files = ["/pxe/boot/vmlinuz", "/pxe/boot/initrd.img", "/pxe/boot/bcm2837-rpi-3-b-plus.dtb"];
  const boot = resolvePiBoot(
    board,
    "arm_64bit=1\nupstream_kernel=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n",
    "console=serial0,115200 console=tty1 root=/dev/nfs ip=dhcp\n",
    finder(files),
  );
  assert.deepEqual(boot, {
    kernel: "/pxe/boot/vmlinuz",
    dtb: "/pxe/boot/bcm2837-rpi-3-b-plus.dtb",
    initrd: "/pxe/boot/initrd.img",
    cmdline: "console=ttyAMA0,115200 console=tty1 root=/dev/nfs ip=dhcp",
  });
});

Deno.test("pi firmware: without upstream_kernel or device_tree it wants the downstream name", () => {
  const files = ["/pxe/boot/vmlinuz", "/pxe/boot/bcm2837-rpi-3-b-plus.dtb"];
  assert.throws(
    () => resolvePiBoot(board, "arm_64bit=1\nkernel=vmlinuz\n", "", finder(files)),
    (e) => e instanceof PiFirmwareError && /no bcm2710-rpi-3-b-plus\.dtb/.test(e.message),
  );
  const dt = resolvePiBoot(
    board,
    "kernel=vmlinuz\ndevice_tree=bcm2837-rpi-3-b-plus.dtb\n",
    "",
    finder(files),
  );
  assert.equal(dt.dtb, "/pxe/boot/bcm2837-rpi-3-b-plus.dtb");
  assert.equal(dt.initrd, null);
  // no kernel= in 64-bit mode: kernel8.img
  assert.throws(() => resolvePiBoot(board, "arm_64bit=1\n", "", finder(files)), /kernel8\.img/);
});

Deno.test("pi firmware: the node's own directory comes first", () => {
  const files = [
    "/pxe/boot/vmlinuz",
    "/pxe/boot/bcm2837-rpi-3-b-plus.dtb",
    "/pxe/boot/10.42.0.1/bcm2837-rpi-3-b-plus.dtb",
  ];
  const b = resolvePiBoot(board, "upstream_kernel=1\nkernel=vmlinuz\n", "", finder(files));
  assert.equal(b.dtb, "/pxe/boot/10.42.0.1/bcm2837-rpi-3-b-plus.dtb");
  assert.equal(b.kernel, "/pxe/boot/vmlinuz");
});
