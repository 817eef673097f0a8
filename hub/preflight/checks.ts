/**
 * The preflight checks as pure functions: each takes what a probe found and says pass, warn,
 * fail or skip, with a hint for the fix. The probes (`probes.ts`) do the I/O.
 */
import type { PreflightCheck } from "../../shared/preflight_schemas.ts";
import type { DhcpOffer } from "./dhcp_packet.ts";
import { dtbCandidates, readConfigTxt } from "./pi_boot_files.ts";

type Check = PreflightCheck;

/** Files the Pi 3 / Zero W network boot reads from the TFTP root. */
export const REQUIRED_BOOT_FILES = ["bootcode.bin", "start.elf", "fixup.dat", "cmdline.txt"];

/** The clock must read at least this (a Pi without RTC starts at its last saved time). */
export const CLOCK_FLOOR_MS = Date.UTC(2026, 0, 1);

/** Another DHCP server answered our DISCOVER: nodes may take its lease and boot from it. */
export function checkRogueDhcp(
  result: { offers: DhcpOffer[] } | { error: string },
  hubIp: string,
  iface: string,
): Check {
  const name = "rogue_dhcp";
  if ("error" in result) {
    return {
      name,
      status: "warn",
      detail: `could not probe for DHCP servers on ${iface}: ${result.error}`,
      hint: "run the hub as root (the probe sends from port 68) and check the cluster interface",
    };
  }
  const foreign = result.offers.filter((o) => o.serverId !== hubIp);
  if (foreign.length === 0) {
    const ours = result.offers.length > 0 ? " (only ours answered)" : "";
    return { name, status: "pass", detail: `no other DHCP server on ${iface}${ours}`, hint: "" };
  }
  const servers = [...new Set(foreign.map((o) => `${o.serverId} (offered ${o.yiaddr})`))];
  return {
    name,
    status: "fail",
    detail: `another DHCP server answers on ${iface}: ${servers.join(", ")}`,
    hint:
      "switch it off or move it off the cluster switch (a home router or a second dnsmasq): nodes may take its lease and never netboot from the hub",
  };
}

/** What the TFTP root holds: null when the directory cannot be read. */
export interface TftpRootListing {
  /** File names in the root, with whether each can be read. */
  files: { name: string; readable: boolean }[];
  /** The text of its config.txt, when there is one that can be read. */
  configTxt?: string | null;
}

/**
 * What a Pi 3B+ reads besides {@link REQUIRED_BOOT_FILES} and `names` lacks: with a config.txt,
 * the kernel and initramfs it names and one of the device trees the firmware would load for
 * it (`pi_boot_files.ts`); without one (a Raspberry Pi OS boot partition brings its own), any
 * `kernel*.img` and any `bcm27*.dtb`.
 */
function missingConfigured(names: readonly string[], configTxt: string | null | undefined) {
  const missing: string[] = [];
  if (configTxt === undefined || configTxt === null) {
    if (!names.some((n) => /^kernel.*\.img$/.test(n))) missing.push("kernel*.img");
    if (!names.some((n) => /^bcm27.*\.dtb$/.test(n))) missing.push("bcm27*.dtb");
    return missing;
  }
  const cfg = readConfigTxt(configTxt);
  const named = [cfg.kernel, ...(cfg.initramfs ? [cfg.initramfs] : [])]
    .filter((f) => !names.includes(f));
  if (named.length) missing.push(`${named.join(", ")} (named by config.txt)`);
  const dtbs = dtbCandidates(cfg);
  if (!dtbs.some((d) => names.includes(d))) {
    missing.push(
      `${dtbs.join(" or ")} (the Pi 3B+ device tree config.txt makes the firmware load)`,
    );
  }
  return missing;
}

/** The TFTP root exists and holds readable Pi boot files. */
export function checkTftpRoot(root: string, listing: TftpRootListing | null): Check {
  const name = "tftp_root";
  const hint =
    `copy the Pi boot files (bootcode.bin, start.elf, fixup.dat, the kernel and device trees; the Debian image: deno task image -- --arch arm64) into ${root} and make them world-readable; cm netboot apply writes cmdline.txt (and config.txt with "configTxt": true)`;
  if (!listing) {
    return { name, status: "fail", detail: `${root} does not exist or cannot be read`, hint };
  }
  const by = new Map(listing.files.map((f) => [f.name, f.readable]));
  const missing = REQUIRED_BOOT_FILES.filter((f) => !by.has(f));
  missing.push(...missingConfigured([...by.keys()], listing.configTxt));
  const cfg = listing.configTxt ? readConfigTxt(listing.configTxt) : null;
  const bootFile = (n: string) =>
    REQUIRED_BOOT_FILES.includes(n) || /^kernel.*\.img$|\.dtb$/.test(n) ||
    n === "config.txt" || n === cfg?.kernel || n === cfg?.initramfs;
  const unreadable = listing.files.filter((f) => !f.readable && bootFile(f.name)).map((f) =>
    f.name
  );
  if (missing.length || unreadable.length) {
    return {
      name,
      status: "fail",
      detail: [
        missing.length ? `missing in ${root}: ${missing.join(", ")}` : "",
        unreadable.length ? `not readable: ${unreadable.join(", ")}` : "",
      ].filter((x) => x).join("; "),
      hint,
    };
  }
  return {
    name,
    status: "pass",
    detail: `${root}: ${listing.files.length} files, the Pi boot files readable`,
    hint: "",
  };
}

/** A sub-check result of netboot's own NFS/NAT checks (`runtime/system_checks.ts`). */
export interface SystemCheck {
  state: "ok" | "degraded" | "skipped";
  detail: string;
  checks: Record<string, boolean>;
}

/** The NFS root is exported (netboot's NFS check). */
export function checkNfsExport(nfs: SystemCheck, nfsRoot: string): Check {
  const name = "nfs_export";
  if (nfs.state === "skipped") return { name, status: "skip", detail: nfs.detail, hint: "" };
  if (nfs.state === "ok") {
    return { name, status: "pass", detail: `${nfsRoot} is exported and nfsd runs`, hint: "" };
  }
  return {
    name,
    status: "fail",
    detail: nfs.detail,
    hint: "apt-get install nfs-kernel-server; systemctl start nfs-server; cm netboot apply",
  };
}

/** IPv4 forwarding is on (netboot's NAT check). */
export function checkIpForward(nat: SystemCheck): Check {
  const name = "ip_forward";
  if (nat.state === "skipped") return { name, status: "skip", detail: nat.detail, hint: "" };
  return nat.checks.ipForward
    ? { name, status: "pass", detail: "net.ipv4.ip_forward = 1", hint: "" }
    : {
      name,
      status: "fail",
      detail: "net.ipv4.ip_forward is 0: nodes cannot reach beyond the hub",
      hint: "cm netboot apply (loads the sysctl file), or sysctl -w net.ipv4.ip_forward=1",
    };
}

/** Our MASQUERADE rule and the jumps to our chains are loaded (netboot's NAT check). */
export function checkNatRules(nat: SystemCheck): Check {
  const name = "nat_rules";
  if (nat.state === "skipped") return { name, status: "skip", detail: nat.detail, hint: "" };
  const missing = ["iptables", "masquerade", "jumps"].filter((k) => nat.checks[k] === false);
  if (missing.length === 0) {
    return {
      name,
      status: "pass",
      detail: "MASQUERADE and the jumps to our chains are loaded",
      hint: "",
    };
  }
  return {
    name,
    status: "fail",
    detail: `not loaded: ${missing.join(", ")}`,
    hint: missing.includes("iptables")
      ? "apt-get install iptables; cm netboot apply"
      : "cm netboot apply",
  };
}

/** The cluster interface carries the hub's address. */
export function checkHubAddress(iface: string, hubIp: string, addresses: string[] | null): Check {
  const name = "hub_address";
  const hint =
    `give ${iface} the static address ${hubIp}/24 (e.g. in /etc/dhcpcd.conf: interface ${iface} / static ip_address=${hubIp}/24)`;
  if (addresses === null) {
    return { name, status: "fail", detail: `interface ${iface} does not exist`, hint };
  }
  if (addresses.includes(hubIp)) {
    return { name, status: "pass", detail: `${iface} has ${hubIp}`, hint: "" };
  }
  return {
    name,
    status: "fail",
    detail: `${iface} has ${
      addresses.length ? addresses.join(", ") : "no IPv4 address"
    }, not ${hubIp}`,
    hint,
  };
}

/** The clock is sane: not before {@link CLOCK_FLOOR_MS}; a warning while NTP is not synced. */
export function checkClock(now: number, synced: boolean | null): Check {
  const name = "clock";
  const iso = new Date(now).toISOString();
  if (now < CLOCK_FLOOR_MS) {
    return {
      name,
      status: "fail",
      detail: `the clock reads ${iso}, before ${
        new Date(CLOCK_FLOOR_MS).toISOString().slice(0, 10)
      }`,
      hint:
        "set the time (date -s) or fix NTP (timedatectl set-ntp true): leases, logs and heartbeat ages depend on it",
    };
  }
  if (synced === false) {
    return {
      name,
      status: "warn",
      detail: `the clock reads ${iso} but is not NTP-synchronised`,
      hint: "timedatectl set-ntp true, and let the uplink reach an NTP server",
    };
  }
  return {
    name,
    status: "pass",
    detail: `the clock reads ${iso}${synced ? ", NTP-synchronised" : ""}`,
    hint: "",
  };
}

/** One line for the whole preflight. */
export function summarise(checks: readonly Check[]): string {
  const count = (s: Check["status"]) => checks.filter((c) => c.status === s).length;
  const failed = checks.filter((c) => c.status === "fail").map((c) => c.name);
  return `preflight ${failed.length ? "FAILED" : "ok"}: ${count("pass")} pass, ${
    count("warn")
  } warn, ` +
    `${count("fail")} fail, ${count("skip")} skipped` +
    (failed.length ? ` (${failed.join(", ")})` : "");
}
