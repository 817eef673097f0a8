/**
 * scripts/image/cluster-node-modprobe.conf, the node image's modprobe blacklist (build.sh puts
 * it in the arm64 root as /etc/modprobe.d/cluster-node.conf; tests/pi/node_e2e.test.ts checks it
 * there and what the booted node loaded): it blacklists the radio, display and sound drivers a
 * wired, headless node never uses, and never a module the node needs to reach its hub, mount
 * its root or blink its bay LED.
 */
import assert from "node:assert/strict";

const CONF = new URL("../../scripts/image/cluster-node-modprobe.conf", import.meta.url);

/** kmod's own rule: `-` and `_` in a module name are the same. */
const norm = (name: string) => name.replaceAll("-", "_");

/** The modules a modprobe.d file blacklists; throws on a line that is not a comment or one. */
function blacklisted(text: string): string[] {
  const names: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = line.match(/^blacklist\s+(\S+)$/);
    assert.ok(m, `line ${i + 1} is not "blacklist MODULE": ${raw}`);
    names.push(norm(m[1]));
  }
  return names;
}

/** Unused on a node in the cluster module, loaded by udev on a 3B+ unless blacklisted. */
const UNUSED = [
  "hci_uart", // Bluetooth on the PL011 UART
  "btbcm",
  "bluetooth",
  "brcmfmac", // WiFi on SDIO
  "brcmutil",
  "cfg80211",
  "vc4", // VideoCore display, HDMI audio and CEC
  "vchiq",
];

/**
 * Never blacklisted: each node's NIC (3B lan: smsc95xx, 3B+ lan78xx, Pi 4 bcmgenet, named genet
 * in Debian's kernel; the lab's usb-net: cdc_ether on usbnet over dwc2) and the PHY and
 * helpers they need, the NFS client of the root and the overlay, the bay LED's leds-gpio and
 * ledtrig-pattern, and the GPIO driver the agent and the LED use.
 */
const NEEDED = [
  "lan78xx",
  "smsc95xx",
  "bcmgenet",
  "genet",
  "usbnet",
  "cdc_ether",
  "dwc2",
  "phy_generic",
  "mii",
  "libphy",
  "crc16",
  "selftests",
  "nfs",
  "nfsv3",
  "nfsv4",
  "nfs_acl",
  "lockd",
  "grace",
  "sunrpc",
  "fscache",
  "netfs",
  "leds_gpio",
  "ledtrig_pattern",
  "pinctrl_bcm2835",
];

Deno.test("node modprobe blacklist: the radio, display and sound drivers, never the NIC, NFS or the bay LED", async () => {
  const names = blacklisted(await Deno.readTextFile(CONF));
  for (const m of UNUSED) assert.ok(names.includes(m), `${m} is not blacklisted`);
  for (const m of NEEDED) assert.ok(!names.includes(norm(m)), `${m} must never be blacklisted`);
  assert.equal(new Set(names).size, names.length, "each module once");
});

Deno.test("node modprobe blacklist: its parser takes kmod's spelling and refuses other lines", () => {
  assert.deepEqual(blacklisted("# c\n\nblacklist leds-gpio\n  blacklist vc4  \n"), [
    "leds_gpio",
    "vc4",
  ]);
  assert.throws(() => blacklisted("install vc4 /bin/true\n"), /line 1 is not/);
});
