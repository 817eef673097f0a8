import assert from "node:assert/strict";
import {
  renderZeroCardCmdline,
  renderZeroCardConfigTxt,
} from "../../hub/netboot/render/sd_card.ts";
import { bayAt, buildNodeMap } from "../../shared/node_map.ts";
import { netbootSettings } from "../../hub/netboot/settings/settings.ts";
import {
  renderDhcpHosts,
  renderDnsmasqConf,
  renderHosts,
  renderLeaseHook,
} from "../../hub/netboot/render/dnsmasq.ts";
import { renderExports, renderGaneshaConf } from "../../hub/netboot/render/nfs.ts";
import { renderRulesV4, renderSysctl } from "../../hub/netboot/render/nat.ts";
import { renderCmdline, renderIpxeScript } from "../../hub/netboot/render/cmdline.ts";
import {
  derivePsk,
  renderHostapd,
  renderWpaSupplicant,
  wpaPsk,
} from "../../hub/netboot/render/wifi.ts";
import { renderNetbootFiles } from "../../hub/netboot/render/all.ts";
import { NetbootConfigError } from "../../hub/netboot/settings/errors.ts";
import { normalizeMac } from "../../hub/netboot/settings/validate.ts";
import { pbkdf2Sync } from "node:crypto";
import { PI_FIRMWARE_BOARDS, resolvePiBoot } from "../../hub/power/pi_firmware.ts";

const map = buildNodeMap();
const settings = netbootSettings();

/** Lines of `text` that start with `key=`, with the key stripped. */
function values(text: string, key: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) =>
    l.slice(key.length + 1)
  );
}

Deno.test("dnsmasq.conf binds the cluster interface and carries DNS, DHCP, TFTP and PXE", () => {
  const conf = renderDnsmasqConf(map, settings);
  assert.deepEqual(values(conf, "interface"), ["eth0"]);
  assert.deepEqual(values(conf, "except-interface"), ["wlan0"]);
  assert.deepEqual(values(conf, "domain"), ["cluster,10.42.0.0/24"]);
  assert.deepEqual(values(conf, "local"), ["/cluster/"]);
  assert.deepEqual(values(conf, "tftp-root"), ["/pxe/boot"]);
  // the Pi ROM and iPXE both send PXE arch 0: iPXE (option 175) gets boot.ipxe, never the Pi
  // service; everything else keeps the Pi service
  assert.deepEqual(values(conf, "dhcp-match"), ["set:ipxe,175"]);
  assert.deepEqual(values(conf, "dhcp-boot"), ["tag:ipxe,boot.ipxe"]);
  assert.deepEqual(values(conf, "pxe-service"), ['tag:!ipxe,0,"Raspberry Pi Boot"']);
  // the Pi boot ROM's OFFER waits 2 s (raspberrypi/firmware#934); iPXE's does not
  assert.deepEqual(values(conf, "dhcp-vendorclass"), ["set:pirom,PXEClient:Arch:00000"]);
  assert.deepEqual(values(conf, "dhcp-reply-delay"), ["tag:pirom,tag:!ipxe,2"]);
  // no ping check: it would hold a new address's OFFER 3 s more, deaf to all other DHCP
  assert.ok(conf.split("\n").includes("no-ping"), "dnsmasq must not ping before an OFFER");
  assert.deepEqual(values(conf, "dhcp-hostsfile"), ["/etc/cluster-module/netboot/dhcp-hosts"]);
  assert.deepEqual(values(conf, "addn-hosts"), ["/etc/cluster-module/netboot/hosts"]);
  assert.deepEqual(values(conf, "dhcp-leasefile"), ["/var/lib/cluster-module/dnsmasq.leases"]);
  assert.deepEqual(values(conf, "dhcp-script"), ["/etc/cluster-module/netboot/dhcp-event.sh"]);
  assert.deepEqual(values(conf, "dhcp-option"), [
    "option:router,10.42.0.250",
    "option:dns-server,10.42.0.250",
  ]);
  assert.ok(conf.split("\n").includes("enable-tftp"));
  // the hook also runs on renewals: a Pi rebooted within its learning lease only renews
  assert.ok(conf.split("\n").includes("script-on-renewal"));
  // static range for nodes + learning range from the settings
  assert.deepEqual(values(conf, "dhcp-range"), [
    "set:nodes,10.42.0.1,static,255.255.255.0,12h",
    "set:learn,10.42.0.100,10.42.0.149,255.255.255.0,5m",
  ]);
  // per-node data lives in the SIGHUP-reloaded files, not in dnsmasq.conf
  assert.ok(!conf.includes("dhcp-host="));
  assert.ok(!conf.includes("node07"));
  assert.ok(!conf.includes("tftp-unique-root"));
});

Deno.test("dnsmasq.conf follows settings: no learning range, upstream servers, overlays", () => {
  const s = netbootSettings({
    clusterInterface: "br0",
    learningRange: null,
    upstreamDns: ["1.1.1.1"],
    overlays: true,
    dnsmasqUser: "dnsmasq",
  });
  const conf = renderDnsmasqConf(map, s);
  assert.deepEqual(values(conf, "interface"), ["br0"]);
  assert.deepEqual(values(conf, "dhcp-range").length, 1);
  assert.ok(!conf.split("\n").includes("script-on-renewal")); // nothing to learn
  assert.deepEqual(values(conf, "server"), ["1.1.1.1"]);
  assert.ok(conf.split("\n").includes("no-resolv"));
  assert.deepEqual(values(conf, "tftp-unique-root"), ["ip"]);
  assert.deepEqual(values(conf, "user"), ["dnsmasq"]);
});

Deno.test("dhcp-hosts has exactly one line per learned MAC with the bay's address and name", () => {
  const macs = new Map([[7, "B8:27:EB:00:00:07"], [1, "b8-27-eb-00-00-01"], [
    60,
    "dc:a6:32:00:00:3c",
  ]]);
  const text = renderDhcpHosts(map, macs);
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(lines.length, 3);
  for (const [node, mac] of macs) {
    const canonical = normalizeMac(mac);
    const mine = lines.filter((l) => l.startsWith(`${canonical},`));
    assert.deepEqual(mine.length, 1);
    assert.deepEqual(
      mine[0],
      `${canonical},${bayAt(map, node).ip},${bayAt(map, node).hostname}`,
    );
  }
  assert.deepEqual(
    renderDhcpHosts(map, new Map()).split("\n").filter((l) => l && !l.startsWith("#")),
    [],
  );
});

Deno.test("dhcp-hosts rejects bad MACs, duplicates and unknown nodes", () => {
  for (
    const bad of [
      "b8:27:eb:00:00",
      "b8:27:eb:00:00:0g",
      "b8:27:eb:00:00:07\ndhcp-range=x",
      "01:00:5e:00:00:01",
    ]
  ) {
    assert.throws(() => renderDhcpHosts(map, new Map([[3, bad]])), NetbootConfigError);
  }
  assert.throws(
    () => renderDhcpHosts(map, new Map([[3, "b8:27:eb:00:00:03"], [4, "B8:27:EB:00:00:03"]])),
    /both node 3 and node 4/,
  );
  assert.throws(() => renderDhcpHosts(map, new Map([[61, "b8:27:eb:00:00:03"]])), /does not exist/);
});

Deno.test("hosts has a record for every node, the switch and the hub", () => {
  const text = renderHosts(map);
  const rows = text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t"));
  assert.deepEqual(rows.length, 62);
  for (const h of [...map.bays, map.switch, map.hub]) {
    const row = rows.filter((r) => r[0] === h.ip);
    assert.deepEqual(row, [[h.ip, `${h.hostname}.cluster`, h.hostname]]);
  }
});

Deno.test("lease hook appends add/old/del events to the events file", () => {
  const hook = renderLeaseHook(map, settings);
  assert.ok(hook.startsWith("#!/bin/sh\n"));
  assert.ok(hook.includes(">> '/var/lib/cluster-module/dhcp-events.log'"));
});

Deno.test("settings validation rejects injection and bad values", () => {
  const bad: Parameters<typeof netbootSettings>[0][] = [
    { clusterInterface: "eth0\ndhcp-range=1.2.3.4" },
    { clusterInterface: "eth 0" },
    { uplinkInterface: "a-very-long-interface-name" },
    { uplinkInterface: "eth0" },
    { paths: { tftpRoot: "/pxe/boot\nenable-ra" } },
    { paths: { tftpRoot: "relative/boot" } },
    { paths: { nfsRoot: "/pxe/root,rw" } },
    { paths: { nfsRoot: "/pxe/../etc" } },
    { learningRange: { first: 50, last: 70 } },
    { learningRange: { first: 200, last: 210 } },
    { learningRange: { first: 150, last: 100 } },
    { upstreamDns: ["8.8.8.8; rm"] },
    { leaseTime: "12h\nx" },
    { dnsmasqUser: 'root"' },
    { cmdlinePrefix: "console=tty1\ninit=/bin/sh" },
    { wifi: { ssid: "a\nb" } },
    { wifi: { psk: "short" } },
    { wifi: { psk: "line\nbreak-long" } },
    { wifi: { country: "usa" } },
  ];
  for (const b of bad) {
    assert.throws(
      () => renderDnsmasqConf(map, netbootSettings(b)),
      NetbootConfigError,
      JSON.stringify(b),
    );
  }
});

Deno.test("exports: shared root read-only to the subnet; overlays rw to one node each", () => {
  const plain = renderExports(map, settings);
  const rows = plain.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(rows, ["/pxe/root 10.42.0.0/24(ro,sync,no_subtree_check,root_squash)"]);
  const withOverlays = renderExports(map, netbootSettings({ overlays: true }));
  const ov = withOverlays.split("\n").filter((l) => l.startsWith("/pxe/overlay/"));
  const lanBays = map.bays.filter((b) => b.lan);
  assert.deepEqual(ov.length, lanBays.length);
  assert.deepEqual(ov.length, 48);
  for (const b of lanBays) {
    assert.ok(
      ov.includes(`/pxe/overlay/${b.hostname} ${b.ip}(rw,sync,no_subtree_check,no_root_squash)`),
    );
  }
  assert.ok(!ov.some((l) => l.includes("/node17 "))); // Zero W bay
});

Deno.test("rules.v4 fills only our own chains, flushed first, for iptables-restore --noflush", () => {
  const rules = renderRulesV4(map, netbootSettings({ uplinkInterface: "wlan1" }));
  const lines = rules.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(lines, [
    "*nat",
    ":CM-POSTROUTING - [0:0]",
    "-F CM-POSTROUTING",
    "-A CM-POSTROUTING -s 10.42.0.0/24 -o wlan1 -j MASQUERADE",
    "COMMIT",
    "*filter",
    ":CM-FORWARD - [0:0]",
    "-F CM-FORWARD",
    "-A CM-FORWARD -i eth0 -o eth0 -j ACCEPT", // bridged traffic under br_netfilter
    "-A CM-FORWARD -i eth0 -o wlan1 -s 10.42.0.0/24 -j ACCEPT",
    "-A CM-FORWARD -i wlan1 -o eth0 -d 10.42.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A CM-FORWARD -i eth0 -j DROP",
    "-A CM-FORWARD -o eth0 -j DROP",
    "COMMIT",
  ]);
  // no built-in chain is declared (its policy would be reset) or written to
  assert.ok(
    !lines.some((l) => /^[:-][A-Z]* ?(FORWARD|POSTROUTING|INPUT|OUTPUT|PREROUTING)\b/.test(l)),
  );
  assert.deepEqual(renderSysctl().split("\n").filter((l) => l && !l.startsWith("#")), [
    "net.ipv4.ip_forward=1",
  ]);
});

Deno.test("cmdline.txt boots from the hub's NFS root; per-node adds cm.node and the overlay", () => {
  const shared = renderCmdline(map, netbootSettings({ cmdlinePrefix: "" }));
  assert.deepEqual(
    shared,
    "root=/dev/nfs nfsroot=10.42.0.250:/pxe/root,vers=3,tcp ro ip=dhcp rootwait\n",
  );
  const n7 = renderCmdline(map, netbootSettings({ overlays: true }), 7);
  assert.deepEqual(n7.split("\n").length, 2); // one line
  assert.match(n7, / cm\.node=7 cm\.overlay=10\.42\.0\.250:\/pxe\/overlay\/node07\n$/);
  assert.match(n7, /^console=serial0,115200 console=tty1 net.ifnames=0 root=\/dev\/nfs /);
  assert.throws(() => renderCmdline(map, settings, 61), /does not exist/);
});

Deno.test("boot.ipxe loads vmlinuz and initrd.img over TFTP with the cmdline.txt arguments", () => {
  const shared = renderIpxeScript(map, settings).split("\n");
  assert.equal(shared[0], "#!ipxe");
  assert.deepEqual(shared.slice(2), [
    "kernel tftp://10.42.0.250/vmlinuz initrd=initrd.img console=ttyS0,115200 net.ifnames=0 " +
    "root=/dev/nfs nfsroot=10.42.0.250:/pxe/root,vers=3,tcp ro ip=dhcp rootwait",
    "initrd tftp://10.42.0.250/initrd.img",
    "boot",
    "",
  ]);
  const n7 = renderIpxeScript(map, netbootSettings({ overlays: true, ipxeCmdlinePrefix: "" }), 7);
  const args = renderCmdline(map, netbootSettings({ overlays: true, cmdlinePrefix: "" }), 7);
  assert.ok(n7.includes(`initrd=initrd.img ${args}`), n7); // same arguments, node's own
  assert.throws(
    () => renderIpxeScript(map, netbootSettings({ ipxeCmdlinePrefix: "a\nshell" })),
    NetbootConfigError,
  );
});

Deno.test("wpa_supplicant.conf follows the guide's format; quotes cannot break out", () => {
  const plain = renderWpaSupplicant(map, settings);
  assert.ok(plain.includes('network={\n    ssid="client"\n    psk="secret12"\n    priority=1\n}'));
  assert.ok(
    plain.includes(
      "country=US\nctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev\nupdate_config=1\n",
    ),
  );
  const evil = renderWpaSupplicant(
    map,
    netbootSettings({ wifi: { ssid: 'my"net', psk: 'pa"ss}word' } }),
  );
  const ssid = values(evil.replaceAll("    ", ""), "ssid")[0];
  const psk = values(evil.replaceAll("    ", ""), "psk")[0];
  assert.deepEqual(
    ssid,
    [...new TextEncoder().encode('my"net')].map((b) => b.toString(16).padStart(2, "0")).join(""),
  );
  assert.deepEqual(psk, pbkdf2Sync('pa"ss}word', 'my"net', 4096, 32, "sha1").toString("hex"));
  assert.deepEqual(evil.split("\n").filter((l) => l.includes("}")).length, 1);
  // IEEE 802.11i test vector: passphrase "password", SSID "IEEE"
  assert.equal(
    derivePsk("IEEE", "password"),
    "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e",
  );
  assert.equal(wpaPsk("IEEE", 'pass"word'), derivePsk("IEEE", 'pass"word'));
  assert.equal(wpaPsk("IEEE", "password"), '"password"');
});

Deno.test("hostapd.conf is rendered only when the hub is the Zero Ws' access point", () => {
  const off = renderNetbootFiles(map, settings, new Map());
  assert.ok(!off.some((f) => f.name === "wifi/hostapd.conf"));
  const s = netbootSettings({
    clusterInterface: "br0",
    wifi: { hubAccessPoint: true, apBridge: "br0", ssid: "client" },
  });
  assert.throws(
    () => renderHostapd(map, netbootSettings({ wifi: { hubAccessPoint: true, apBridge: "br0" } })),
    /must be the cluster interface/,
  );
  const on = renderNetbootFiles(map, s, new Map()).find((f) => f.name === "wifi/hostapd.conf");
  assert.ok(on !== undefined);
  const conf = renderHostapd(map, s);
  assert.deepEqual(on.content, conf);
  assert.deepEqual(values(conf, "ssid2"), ["636c69656e74"]);
  assert.deepEqual(values(conf, "bridge"), ["br0"]);
  assert.deepEqual(values(conf, "interface"), ["wlan1"]);
  assert.deepEqual(values(conf, "wpa_passphrase"), ["secret12"]);
});

Deno.test("renderNetbootFiles lists every file with its install path and reload action", () => {
  const files = renderNetbootFiles(
    map,
    netbootSettings({ overlays: true }),
    new Map([[2, "b8:27:eb:00:00:02"]]),
  );
  const byName = new Map(files.map((f) => [f.name, f]));
  assert.deepEqual(byName.get("dnsmasq/dnsmasq.conf")?.reload, "dnsmasq-restart");
  assert.deepEqual(byName.get("dnsmasq/dhcp-hosts")?.reload, "dnsmasq-hup");
  assert.deepEqual(byName.get("dnsmasq/hosts")?.reload, "dnsmasq-hup");
  assert.deepEqual(
    byName.get("nfs/cluster-module.exports")?.path,
    "/etc/exports.d/cluster-module.exports",
  );
  assert.deepEqual(
    byName.get("nat/cluster-module.rules.v4")?.path,
    "/etc/iptables/cluster-module.rules.v4", // not iptables-persistent's rules.v4
  );
  assert.deepEqual(byName.get("dnsmasq/dhcp-event.sh")?.mode, 0o755);
  assert.deepEqual(
    byName.get("boot/10.42.0.7/cmdline.txt")?.path,
    "/pxe/boot/10.42.0.7/cmdline.txt",
  );
  assert.deepEqual(
    files.filter((f) => f.name.match(/^boot\/10\.42\.0\.\d+\/cmdline\.txt$/)).length,
    48,
  );
  assert.match(byName.get("boot/boot.ipxe")!.content, /^#!ipxe\n/);
  assert.match(byName.get("boot/10.42.0.7/boot.ipxe")!.content, / cm\.node=7 /);
  assert.deepEqual(new Set(files.map((f) => f.name)).size, files.length);
});

Deno.test("ganesha.conf: root read-only to the subnet, each overlay read-write to its node", () => {
  const plain = renderGaneshaConf(map, netbootSettings({ nfsServer: "ganesha" }));
  assert.match(plain, /^ {4}Bind_addr = 10\.42\.0\.250;$/m);
  assert.match(plain, /^ {4}Enable_NLM = false;$/m);
  assert.match(plain, /^ {4}RecoveryRoot = \/var\/lib\/cluster-module\/ganesha;$/m);
  const exports = plain.split("EXPORT {").slice(1);
  assert.equal(exports.length, 1);
  assert.match(exports[0], /Path = \/pxe\/root;/);
  assert.match(exports[0], /Access_Type = None;/); // nobody outside the CLIENT block
  assert.match(exports[0], /CLIENT \{ Clients = 10\.42\.0\.0\/24; Access_Type = RO; \}/);
  assert.match(exports[0], /Squash = Root_Squash;/); // no host reads root-only files of the root
  const over = renderGaneshaConf(map, netbootSettings({ nfsServer: "ganesha", overlays: true }));
  const blocks = over.split("EXPORT {").slice(1);
  assert.equal(blocks.length, 1 + 48);
  const n7 = blocks.find((b) => b.includes("Path = /pxe/overlay/node07;"))!;
  assert.match(n7, /Export_Id = 107;/);
  assert.match(n7, /CLIENT \{ Clients = 10\.42\.0\.7; Access_Type = RW; \}/);
  assert.match(n7, /Squash = No_Root_Squash;/); // the node's root writes its own state
  // the kernel server's file set has the exports file, ganesha's has ganesha.conf, not both
  const names = (nfsServer: "kernel" | "ganesha") =>
    renderNetbootFiles(map, netbootSettings({ nfsServer }), new Map()).map((f) => f.name)
      .filter((n) => n.startsWith("nfs/"));
  assert.deepEqual(names("kernel"), ["nfs/cluster-module.exports"]);
  assert.deepEqual(names("ganesha"), ["nfs/ganesha.conf"]);
});

Deno.test("config.txt (configTxt: true) loads the Debian kernel and initramfs; off by default", () => {
  const files = (configTxt: boolean) =>
    renderNetbootFiles(map, netbootSettings({ configTxt }), new Map());
  assert.equal(files(false).find((f) => f.name === "boot/config.txt"), undefined);
  const f = files(true).find((f) => f.name === "boot/config.txt")!;
  assert.equal(f.path, "/pxe/boot/config.txt");
  const lines = f.content.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(lines, [
    "arm_64bit=1",
    "upstream_kernel=1",
    "kernel=vmlinuz",
    "initramfs initrd.img followkernel",
    "enable_uart=1",
    "dtoverlay=disable-wifi",
    "dtoverlay=disable-bt",
    // the bay LED node for the agent's kernel LED engine: lit high on the LAN bays
    "dtoverlay=gpio-led,gpio=21,label=bay",
  ]);
});

Deno.test("Zero W card: config.txt boots Debian's armel kernel with the bay LED active low; cmdline.txt roots on the card", () => {
  const s = netbootSettings({});
  const lines = renderZeroCardConfigTxt(map, s).split("\n").filter((l) => l && !l.startsWith("#"));
  assert.deepEqual(lines, [
    "upstream_kernel=1",
    "device_tree=bcm2835-rpi-zero-w.dtb",
    "kernel=vmlinuz",
    "initramfs initrd.img followkernel",
    "enable_uart=1",
    "dtoverlay=gpio-led,gpio=21,label=bay,active_low=1",
    "dtoverlay=cm-disable-bt",
  ]);
  assert.equal(
    renderZeroCardCmdline(map, s),
    "console=serial0,115200 console=tty1 net.ifnames=0 root=/dev/mmcblk0p2 rootwait " +
      "cm.hub=http://10.42.0.250:4242\n",
  );
  assert.match(
    renderZeroCardCmdline(map, s, { node: 17, hub: "http://10.0.2.2:4300" }),
    / rootwait cm\.hub=http:\/\/10\.0\.2\.2:4300 cm\.node=17\n$/,
  );
  assert.throws(() => renderZeroCardCmdline(map, s, { node: 61 }), /node 61 does not exist/);
  assert.throws(() => renderZeroCardCmdline(map, s, { hub: "http://x y" }), /plain http/);
});

Deno.test("config.txt boots the arm64 image's own files the way the Pi firmware names them", () => {
  // what scripts/image/build.sh --arch arm64 puts in pxe/boot: Debian's kernel has only the
  // mainline device trees (bcm2837-…); the firmware's default names are the Raspberry Pi
  // kernel's (bcm2710-…), so without upstream_kernel=1 a 3B+ finds no device tree.
  const served = ["vmlinuz", "initrd.img", "bcm2837-rpi-3-b-plus.dtb", "bcm2837-rpi-3-b.dtb"]
    .map((f) => `/pxe/boot/${f}`);
  const config = renderNetbootFiles(map, netbootSettings({ configTxt: true }), new Map())
    .find((f) => f.name === "boot/config.txt")!.content;
  const boot = resolvePiBoot(
    PI_FIRMWARE_BOARDS.raspi3b,
    config,
    renderCmdline(map, netbootSettings({}), 1),
    (name) => served.find((p) => p === `/pxe/boot/${name}`) ?? null,
  );
  assert.equal(boot.dtb, "/pxe/boot/bcm2837-rpi-3-b-plus.dtb");
  assert.equal(boot.kernel, "/pxe/boot/vmlinuz");
  assert.equal(boot.initrd, "/pxe/boot/initrd.img");
  assert.match(boot.cmdline, /^console=ttyAMA0,115200 .* cm\.node=1$/);
});
