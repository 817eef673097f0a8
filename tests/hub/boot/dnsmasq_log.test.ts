/**
 * The dnsmasq log parser on REAL dnsmasq output: `tests/fixtures/dnsmasq/pxe-boot.log` was
 * written by `deno task netboot:capture-log` (Debian's dnsmasq 2.90 with the generated config,
 * busybox playing a Pi in a network namespace). The synthetic lines of the simulated module
 * must parse to the same signals.
 */
import assert from "node:assert/strict";
import { parseDnsmasqLine, syntheticDnsmasqLines } from "../../../hub/boot/dnsmasq_log.ts";
import { CAPTURE } from "../../netboot/capture_dnsmasq_log.ts";

const FIXTURE = new URL("../../fixtures/dnsmasq/pxe-boot.log", import.meta.url);
const lines = (await Deno.readTextFile(FIXTURE)).split("\n").filter((l) => l !== "");

Deno.test("dnsmasq log: the captured PXE boot parses to its DHCP exchange and TFTP transfers", () => {
  const signals = lines.map(parseDnsmasqLine).filter((s) => s !== null);
  const brief = signals.map((s) =>
    "mac" in s
      ? `${s.kind} ${s.ip ?? "-"} ${s.mac} ${s.note}`.trim()
      : `${s.kind} ${s.path.split("/").pop()} ${s.ip}`
  );
  const known = `${CAPTURE.knownIp} ${CAPTURE.knownMac}`;
  assert.deepEqual(brief, [
    `dhcp_discover - ${CAPTURE.knownMac}`,
    `dhcp_offer ${known}`,
    `dhcp_request ${known}`,
    `dhcp_ack ${known} node07`,
    ...CAPTURE.files.map((f) => `tftp_sent ${f} ${CAPTURE.knownIp}`),
    `tftp_missing ${CAPTURE.missing} ${CAPTURE.knownIp}`,
    `dhcp_discover - ${CAPTURE.unknownMac} no address available`,
    `dhcp_discover - ${CAPTURE.unknownMac} no address available`,
  ]);
  // Everything else dnsmasq wrote (start-up, option dumps, tags) is not a boot signal.
  assert.ok(lines.length > signals.length + 40, `${lines.length} lines, ${signals.length} signals`);
});

Deno.test("dnsmasq log: syslog-style timestamps and noise lines", () => {
  const withStamp = `Dec  2 01:02:03 ${lines.find((l) => l.includes("DHCPACK"))}`;
  assert.equal(parseDnsmasqLine(withStamp)?.kind, "dhcp_ack");
  for (
    const l of [
      "",
      "dnsmasq[1]: started, version 2.90 cachesize 150",
      "dnsmasq-dhcp[1]: 12 DHCPDISCOVER(eth0) not-a-mac",
      "dnsmasq-tftp[1]: sent /x to somewhere",
      "kernel: DHCPACK(eth0) 10.42.0.7 b8:27:eb:42:00:07",
    ]
  ) assert.equal(parseDnsmasqLine(l), null, l);
});

Deno.test("dnsmasq log: the simulated module's lines parse like the real ones", () => {
  const o = { pid: 7, iface: "eth0", mac: "02:42:0a:2a:00:05", xid: 9, tftpRoot: "/srv/boot" };
  const parsed = [
    ...syntheticDnsmasqLines(o, { kind: "discover", offer: "10.42.0.5" }),
    ...syntheticDnsmasqLines(o, { kind: "ack", ip: "10.42.0.5", hostname: "node05" }),
    ...syntheticDnsmasqLines(o, { kind: "tftp", ip: "10.42.0.5", file: "start.elf" }),
    ...syntheticDnsmasqLines(o, { kind: "discover", offer: null }),
  ].map(parseDnsmasqLine);
  assert.deepEqual(parsed.map((s) => s?.kind), [
    "dhcp_discover",
    "dhcp_offer",
    "dhcp_request",
    "dhcp_ack",
    "tftp_sent",
    "dhcp_discover",
  ]);
  assert.deepEqual(parsed[3], {
    kind: "dhcp_ack",
    mac: o.mac,
    ip: "10.42.0.5",
    note: "node05",
    iface: "eth0",
  });
  assert.deepEqual(parsed[4], { kind: "tftp_sent", path: "/srv/boot/start.elf", ip: "10.42.0.5" });
  assert.equal((parsed[5] as { note: string }).note, "no address available");
});
