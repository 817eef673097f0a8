/** The preflight checks (pure) and the DHCP packets of the rogue-server probe. */
import assert from "node:assert/strict";
import {
  checkClock,
  checkHubAddress,
  checkIpForward,
  checkNatRules,
  checkNfsExport,
  checkRogueDhcp,
  checkTftpRoot,
  CLOCK_FLOOR_MS,
  summarise,
} from "../../../hub/preflight/checks.ts";
import { buildDiscover, parseOffer } from "../../../hub/preflight/dhcp_packet.ts";
import { renderNetbootFiles } from "../../../hub/netboot/render/all.ts";
import { netbootSettings } from "../../../hub/netboot/settings/settings.ts";
import { defaultMap } from "../../netboot/fixtures.ts";

const HUB = "10.42.0.250";

Deno.test("rogue DHCP: offers from anyone but the hub fail, naming the server", () => {
  assert.equal(checkRogueDhcp({ offers: [] }, HUB, "eth0").status, "pass");
  const ours = { serverId: HUB, from: HUB, yiaddr: "10.42.0.120" };
  const mine = checkRogueDhcp({ offers: [ours] }, HUB, "eth0");
  assert.equal(mine.status, "pass");
  assert.match(mine.detail, /only ours answered/);
  const rogue = { serverId: "192.168.1.1", from: "192.168.1.1", yiaddr: "192.168.1.57" };
  const r = checkRogueDhcp({ offers: [ours, rogue, rogue] }, HUB, "eth0");
  assert.equal(r.status, "fail");
  assert.equal(r.detail, "another DHCP server answers on eth0: 192.168.1.1 (offered 192.168.1.57)");
  assert.ok(r.hint.length > 0);
  const err = checkRogueDhcp({ error: "bind EACCES 0.0.0.0:68" }, HUB, "eth0");
  assert.equal(err.status, "warn");
  assert.match(err.detail, /EACCES/);
});

Deno.test("TFTP root: missing directory, missing or unreadable boot files fail", () => {
  assert.equal(checkTftpRoot("/pxe/boot", null).status, "fail");
  const file = (name: string, readable = true) => ({ name, readable });
  const full = [
    "bootcode.bin",
    "start.elf",
    "fixup.dat",
    "cmdline.txt",
    "kernel8.img",
    "bcm2710-rpi-3-b.dtb",
  ].map((n) => file(n));
  assert.equal(checkTftpRoot("/pxe/boot", { files: full }).status, "pass");
  const noKernel = checkTftpRoot("/pxe/boot", {
    files: full.filter((f) => !f.name.startsWith("kernel") && f.name !== "start.elf"),
  });
  assert.equal(noKernel.status, "fail");
  assert.equal(noKernel.detail, "missing in /pxe/boot: start.elf, kernel*.img");
  const locked = checkTftpRoot("/pxe/boot", {
    files: full.map((f) => f.name === "bootcode.bin" ? file(f.name, false) : f),
  });
  assert.equal(locked.status, "fail");
  assert.equal(locked.detail, "not readable: bootcode.bin");
});

Deno.test("TFTP root of the Debian arm64 image: the kernel, initramfs and DTB config.txt names", () => {
  // what scripts/image/pi-boot-files.sh and build.sh lay out, with the hub's config.txt
  const configTxt = renderNetbootFiles(defaultMap, netbootSettings({ configTxt: true }), new Map())
    .find((f) => f.name === "boot/config.txt")!.content;
  const file = (name: string) => ({ name, readable: true });
  const image = [
    "bootcode.bin",
    "start.elf",
    "start4.elf",
    "fixup.dat",
    "fixup4.dat",
    "cmdline.txt",
    "config.txt",
    "vmlinuz",
    "initrd.img",
    "bcm2837-rpi-3-b-plus.dtb",
    "bcm2837-rpi-3-b.dtb",
    "bcm2711-rpi-4-b.dtb",
  ];
  const check = (names: string[], text = configTxt) =>
    checkTftpRoot("/pxe/boot", { files: names.map(file), configTxt: text });
  const ok = check(image);
  assert.equal(ok.status, "pass", ok.detail);
  const noDtb = check(image.filter((n) => !n.startsWith("bcm2837")));
  assert.equal(noDtb.status, "fail");
  assert.equal(
    noDtb.detail,
    "missing in /pxe/boot: bcm2837-rpi-3-b-plus.dtb or bcm2710-rpi-3-b-plus.dtb (the Pi 3B+ device tree config.txt makes the firmware load)",
  );
  const noKernel = check(image.filter((n) => n !== "vmlinuz" && n !== "initrd.img"));
  assert.equal(
    noKernel.detail,
    "missing in /pxe/boot: vmlinuz, initrd.img (named by config.txt)",
  );
  // a Raspberry Pi OS boot partition: its own config.txt, kernel8.img, downstream DTBs
  const rpiOs = check(
    ["bootcode.bin", "start.elf", "fixup.dat", "cmdline.txt", "config.txt", "kernel8.img"]
      .concat(["bcm2710-rpi-3-b-plus.dtb"]),
    "arm_64bit=1\n",
  );
  assert.equal(rpiOs.status, "pass", rpiOs.detail);
});

Deno.test("NFS, forwarding and NAT follow netboot's own checks; skipped stays skipped", () => {
  const ok = { state: "ok" as const, detail: "", checks: {} };
  const skipped = { state: "skipped" as const, detail: "dry mode: not checked", checks: {} };
  assert.equal(checkNfsExport(ok, "/pxe/root").status, "pass");
  assert.equal(checkNfsExport(skipped, "/pxe/root").status, "skip");
  const bad = { state: "degraded" as const, detail: "/pxe/root is not exported", checks: {} };
  assert.equal(checkNfsExport(bad, "/pxe/root").status, "fail");
  const nat = (c: Record<string, boolean>) => ({
    state: "degraded" as const,
    detail: "",
    checks: c,
  });
  assert.equal(checkIpForward(nat({ ipForward: false })).status, "fail");
  assert.equal(checkIpForward(nat({ ipForward: true })).status, "pass");
  const rules = checkNatRules(
    nat({ ipForward: true, iptables: true, masquerade: false, jumps: true }),
  );
  assert.equal(rules.status, "fail");
  assert.equal(rules.detail, "not loaded: masquerade");
  assert.equal(
    checkNatRules(nat({ iptables: true, masquerade: true, jumps: true })).status,
    "pass",
  );
});

Deno.test("hub address and clock", () => {
  assert.equal(checkHubAddress("eth0", HUB, [HUB, "10.42.0.251"]).status, "pass");
  assert.equal(checkHubAddress("eth0", HUB, null).detail, "interface eth0 does not exist");
  const wrong = checkHubAddress("eth0", HUB, ["192.168.1.20"]);
  assert.equal(wrong.status, "fail");
  assert.match(wrong.hint, /static ip_address=10\.42\.0\.250\/24/);
  assert.equal(checkClock(Date.UTC(1970, 0, 1, 0, 1), true).status, "fail", "a Pi without RTC");
  assert.equal(checkClock(CLOCK_FLOOR_MS + 1, false).status, "warn");
  assert.equal(checkClock(CLOCK_FLOOR_MS + 1, null).status, "pass");
  assert.equal(
    summarise([checkClock(0, null), checkHubAddress("eth0", HUB, [HUB])]),
    "preflight FAILED: 1 pass, 0 warn, 1 fail, 0 skipped (clock)",
  );
});

Deno.test("DHCP probe packets: a DISCOVER, and an OFFER read back with its server id", () => {
  const mac = [0x02, 0xc3, 1, 2, 3, 4];
  const d = buildDiscover(0xdeadbeef, mac);
  assert.equal(d[0], 1);
  assert.deepEqual([...d.slice(28, 34)], mac);
  assert.deepEqual([...d.slice(240, 243)], [53, 1, 1], "message type DISCOVER");
  // The server's answer: the same packet turned into an OFFER of 10.42.0.187 by 10.42.0.77.
  const offer = d.slice();
  offer[0] = 2;
  offer.set([10, 42, 0, 187], 16);
  offer.set([53, 1, 2, 54, 4, 10, 42, 0, 77, 255], 240);
  assert.deepEqual(parseOffer(offer, 0xdeadbeef, "10.42.0.77"), {
    serverId: "10.42.0.77",
    from: "10.42.0.77",
    yiaddr: "10.42.0.187",
  });
  assert.equal(parseOffer(offer, 0x1234, "10.42.0.77"), null, "another transaction");
  assert.equal(parseOffer(d, 0xdeadbeef, "10.42.0.250"), null, "our own DISCOVER echoed");
  const ack = offer.slice();
  ack[242] = 5;
  assert.equal(parseOffer(ack, 0xdeadbeef, "10.42.0.77"), null, "not an OFFER");
  assert.equal(parseOffer(offer.slice(0, 100), 0xdeadbeef, "x"), null, "truncated");
});
