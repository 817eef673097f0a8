/**
 * A pure parser of dnsmasq's log lines (with `log-dhcp`): the DHCP exchange of each client
 * (DISCOVER, OFFER, REQUEST, ACK, NAK) and each TFTP transfer (sent, not found, failed).
 * Every other line (option dumps, start-up notes, DNS) is not a boot signal and parses to
 * null. Tested on real dnsmasq output (`tests/fixtures/dnsmasq/pxe-boot.log`).
 */

/** One boot signal read from dnsmasq's log. */
export type DnsmasqSignal =
  | {
    kind: "dhcp_discover" | "dhcp_offer" | "dhcp_request" | "dhcp_ack" | "dhcp_nak";
    mac: string;
    /** The address offered, requested or acknowledged (null: none, e.g. a bare DISCOVER). */
    ip: string | null;
    /** The rest of the line: the hostname on an ACK, or why nothing was offered. */
    note: string;
    iface: string;
  }
  | {
    kind: "tftp_sent" | "tftp_missing" | "tftp_failed";
    /** The file's path as dnsmasq names it (under the TFTP root). */
    path: string;
    ip: string;
  };

const PREFIX = /^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?dnsmasq-(dhcp|tftp)(?:\[\d+\])?: (.*)$/;
const DHCP = /^(?:\d+ )?DHCP(DISCOVER|OFFER|REQUEST|ACK|NAK)\(([^)]*)\) (.*)$/;
const IP = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const TFTP_SENT = /^sent (\S+) to (\S+)$/;
const TFTP_MISSING = /^file (\S+) not found(?: for (\S+))?$/;
const TFTP_FAILED = /^failed sending (\S+) to (\S+)$/;

/** Parses one log line; null for a line that is not a DHCP or TFTP boot signal. */
export function parseDnsmasqLine(line: string): DnsmasqSignal | null {
  const m = PREFIX.exec(line.trimEnd());
  if (!m) return null;
  const [, facility, rest] = m;
  if (facility === "dhcp") {
    const d = DHCP.exec(rest);
    if (!d) return null;
    const [, type, iface, tail] = d;
    const words = tail.trim().split(/\s+/).filter((w) => w !== "");
    let ip: string | null = null;
    if (words.length > 0 && IP.test(words[0])) ip = words.shift()!;
    const mac = words.find((w) => MAC.test(w));
    if (!mac) return null;
    const note = words.slice(words.indexOf(mac) + 1).join(" ");
    const kind = `dhcp_${type.toLowerCase()}` as
      | "dhcp_discover"
      | "dhcp_offer"
      | "dhcp_request"
      | "dhcp_ack"
      | "dhcp_nak";
    return { kind, mac: mac.toLowerCase(), ip, note, iface };
  }
  const sent = TFTP_SENT.exec(rest);
  if (sent && IP.test(sent[2])) return { kind: "tftp_sent", path: sent[1], ip: sent[2] };
  const missing = TFTP_MISSING.exec(rest);
  if (missing && missing[2] && IP.test(missing[2])) {
    return { kind: "tftp_missing", path: missing[1], ip: missing[2] };
  }
  const failed = TFTP_FAILED.exec(rest);
  if (failed && IP.test(failed[2])) return { kind: "tftp_failed", path: failed[1], ip: failed[2] };
  return null;
}

/** The lines dnsmasq writes for one Pi's netboot, as the simulated module feeds them. */
export function syntheticDnsmasqLines(
  o: {
    pid: number;
    iface: string;
    mac: string;
    xid: number;
    tftpRoot: string;
  },
  step:
    | { kind: "discover"; offer: string | null }
    | { kind: "ack"; ip: string; hostname: string }
    | { kind: "tftp"; ip: string; file: string },
): string[] {
  const dhcp = `dnsmasq-dhcp[${o.pid}]: ${o.xid}`;
  switch (step.kind) {
    case "discover":
      return step.offer
        ? [
          `${dhcp} DHCPDISCOVER(${o.iface}) ${o.mac} `,
          `${dhcp} DHCPOFFER(${o.iface}) ${step.offer} ${o.mac} `,
        ]
        : [`${dhcp} DHCPDISCOVER(${o.iface}) ${o.mac} no address available`];
    case "ack":
      return [
        `${dhcp} DHCPREQUEST(${o.iface}) ${step.ip} ${o.mac} `,
        `${dhcp} DHCPACK(${o.iface}) ${step.ip} ${o.mac} ${step.hostname}`,
      ];
    case "tftp":
      return [`dnsmasq-tftp[${o.pid}]: sent ${o.tftpRoot}/${step.file} to ${step.ip}`];
  }
}
