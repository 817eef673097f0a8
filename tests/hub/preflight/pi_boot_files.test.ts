/**
 * What the Pi 3B+ firmware reads, from config.txt (`hub/preflight/pi_boot_files.ts`),
 * and what the hub's own config.txt makes it read: the kernel, initramfs and device tree of
 * the Debian arm64 image.
 */
import assert from "node:assert/strict";
import {
  dtbCandidates,
  PI3BPLUS_DTB,
  readConfigTxt,
} from "../../../hub/preflight/pi_boot_files.ts";
import { renderNetbootFiles } from "../../../hub/netboot/render/all.ts";
import { netbootSettings } from "../../../hub/netboot/settings/settings.ts";
import { defaultMap } from "../../netboot/fixtures.ts";

Deno.test("firmware model: kernel, initramfs, DTB and overlays from config.txt, as a 3B+", () => {
  const c = readConfigTxt(
    [
      "# comment",
      "arm_64bit=1",
      "kernel=vmlinuz # trailing",
      "initramfs initrd.img followkernel",
      "[pi4]",
      "kernel=other.img",
      "device_tree=bcm2711-rpi-4-b.dtb",
      "[pi3+]",
      "dtoverlay=disable-wifi,foo=1",
      "[all]",
      "upstream_kernel=1",
    ].join("\n"),
  );
  assert.deepEqual(c, {
    arm64: true,
    kernel: "vmlinuz",
    initramfs: "initrd.img",
    deviceTree: null,
    upstreamKernel: true,
    overlays: ["disable-wifi"],
  });
  assert.deepEqual(dtbCandidates(c), [PI3BPLUS_DTB.upstream, PI3BPLUS_DTB.downstream]);
  assert.deepEqual(dtbCandidates(readConfigTxt("")), [PI3BPLUS_DTB.downstream]);
  assert.equal(readConfigTxt("").kernel, "kernel7.img");
  assert.equal(readConfigTxt("arm_64bit=1").kernel, "kernel8.img");
  assert.deepEqual(dtbCandidates(readConfigTxt("device_tree=x.dtb\nupstream_kernel=1")), [
    "x.dtb",
  ]);
});

Deno.test("the hub's config.txt makes a 3B+ load the device tree Debian's arm64 kernel ships", () => {
  const f = renderNetbootFiles(defaultMap, netbootSettings({ configTxt: true }), new Map())
    .find((f) => f.name === "boot/config.txt")!;
  const c = readConfigTxt(f.content);
  // linux-image-arm64 ships only mainline names (broadcom/bcm2837-rpi-3-b-plus.dtb, …); the
  // firmware asks for the downstream bcm2710-rpi-3-b-plus.dtb unless upstream_kernel=1
  assert.equal(dtbCandidates(c)[0], PI3BPLUS_DTB.upstream);
  assert.equal(c.kernel, "vmlinuz");
  assert.equal(c.initramfs, "initrd.img");
  assert.ok(c.arm64);
});
