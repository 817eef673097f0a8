/**
 * Netboot settings: everything the config renderers need that the node map does not hold.
 * Subnet, domain, hostnames and addresses always come from the node map, never from here.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import { NetbootConfigError } from "./errors.ts";
import {
  checkBareWord,
  checkDomain,
  checkInterfaceName,
  checkKernelArgs,
  checkLine,
  checkPath,
} from "./validate.ts";

/** Where each generated or managed file lives on the hub. All paths are absolute. */
export interface NetbootPaths {
  /** Directory of our dnsmasq.conf, dhcp-hosts, hosts and the lease hook script. */
  configDir: string;
  /** TFTP root: the nodes' boot partition. */
  tftpRoot: string;
  /** NFS root: the shared, read-only root file system. */
  nfsRoot: string;
  /** Parent directory of the per-node writable overlays `<overlayDir>/nodeNN`. */
  overlayDir: string;
  /** dnsmasq's lease database. */
  leaseFile: string;
  /** File the dhcp-script hook appends one line per lease event to; the hub tails it. */
  eventsFile: string;
  /** dnsmasq pid file. */
  pidFile: string;
  /** NFS exports file (a drop-in under /etc/exports.d, read by `exportfs -ra`; kernel server). */
  exportsFile: string;
  /** nfs-ganesha's configuration (nfsServer "ganesha"). */
  ganeshaConfig: string;
  /** nfs-ganesha's NFSv4 recovery directory and pid file (nfsServer "ganesha"). */
  ganeshaStateDir: string;
  /** Our iptables rules (our chains only), loaded with `iptables-restore --noflush`. */
  rulesV4File: string;
  /** sysctl drop-in that enables IPv4 forwarding. */
  sysctlFile: string;
}

/** The WiFi network of the Pi Zero W bays (the guide's defaults: ssid "client", psk "secret"). */
export interface WifiSettings {
  /** Two-letter regulatory country code. */
  country: string;
  ssid: string;
  /** WPA passphrase, 8 to 63 printable ASCII characters. */
  psk: string;
  /** Render hostapd.conf so the hub serves as the Zero Ws' access point. */
  hubAccessPoint: boolean;
  /** WiFi interface hostapd drives when `hubAccessPoint` is set. */
  apInterface: string;
  /** Bridge hostapd adds the AP to (the cluster bridge), or null for none. */
  apBridge: string | null;
  /** 2.4 GHz channel. */
  channel: number;
}

/** How the netboot services run. */
export interface NetbootSettings {
  /** Interface on the cluster switch (10.42.0.0/24). */
  clusterInterface: string;
  /** Uplink interface (DHCP client, NAT target). */
  uplinkInterface: string;
  /**
   * Last octets of a small dynamic range that unknown MACs get leases from, so the hub can
   * learn them; null to serve only learned MACs. Must avoid nodes, switch and hub.
   */
  learningRange: { first: number; last: number } | null;
  /** Lease time of learned nodes, dnsmasq syntax (e.g. "12h", "infinite"). */
  leaseTime: string;
  /** Lease time in the learning range (short, so learned nodes move to their address soon). */
  learningLeaseTime: string;
  /** Upstream DNS servers; "system" uses /etc/resolv.conf; [] forwards nothing. */
  upstreamDns: "system" | string[];
  /** DNS port (53; tests may change it). */
  dnsPort: number;
  /** NFS protocol version on the kernel command line. */
  nfsVersion: 3 | 4;
  /**
   * Which NFS server exports the roots: "kernel" (nfs-kernel-server; the hub writes the
   * exports file and runs `exportfs -ra`) or "ganesha" (nfs-ganesha in user space, for hosts
   * without a kernel NFS server; the hub runs rpcbind and ganesha.nfsd as supervised children).
   */
  nfsServer: "kernel" | "ganesha";
  /** rpcbind binary (nfsServer "ganesha"). */
  rpcbindBinary: string;
  /** ganesha.nfsd binary (nfsServer "ganesha"). */
  ganeshaBinary: string;
  /** Give each LAN node a writable overlay export and its own TFTP dir with cmdline.txt. */
  overlays: boolean;
  /** User dnsmasq drops to after start (null: dnsmasq's default, nobody). */
  dnsmasqUser: string | null;
  /** dnsmasq binary. */
  dnsmasqBinary: string;
  /** "auto": live when root on a Raspberry Pi, otherwise dry. */
  mode: "auto" | "live" | "dry";
  /** Directory dry mode renders into. */
  dryDir: string;
  /**
   * Extra kernel command-line arguments before ours (console etc.) in cmdline.txt (Pis).
   * `net.ifnames=0` keeps the NIC `eth0` (Debian's kernel would name it `end0` on a Pi 4,
   * `ens3` under QEMU), where the agent reads the MAC it reports.
   */
  cmdlinePrefix: string;
  /** The same for boot.ipxe (x86 and virtual nodes booted by iPXE). */
  ipxeCmdlinePrefix: string;
  /**
   * Also write `config.txt` into the TFTP root, for the Debian arm64 image built by
   * scripts/image/ (its firmware loads `vmlinuz` and `initrd.img`). Off by default: a root
   * copied from Raspberry Pi OS brings its own config.txt, which must not be replaced.
   */
  configTxt: boolean;
  paths: NetbootPaths;
  wifi: WifiSettings;
}

/** The real hub: eth0 to the switch, wlan0 uplink, /pxe/boot and /pxe/root. */
export const DEFAULT_NETBOOT_SETTINGS: NetbootSettings = {
  clusterInterface: "eth0",
  uplinkInterface: "wlan0",
  learningRange: { first: 100, last: 149 },
  leaseTime: "12h",
  learningLeaseTime: "5m",
  upstreamDns: "system",
  dnsPort: 53,
  nfsVersion: 3,
  nfsServer: "kernel",
  rpcbindBinary: "rpcbind",
  ganeshaBinary: "ganesha.nfsd",
  overlays: false,
  dnsmasqUser: null,
  dnsmasqBinary: "dnsmasq",
  mode: "auto",
  dryDir: ".data/netboot",
  cmdlinePrefix: "console=serial0,115200 console=tty1 net.ifnames=0",
  ipxeCmdlinePrefix: "console=ttyS0,115200 net.ifnames=0",
  configTxt: false,
  paths: {
    configDir: "/etc/cluster-module/netboot",
    tftpRoot: "/pxe/boot",
    nfsRoot: "/pxe/root",
    overlayDir: "/pxe/overlay",
    leaseFile: "/var/lib/cluster-module/dnsmasq.leases",
    eventsFile: "/var/lib/cluster-module/dhcp-events.log",
    pidFile: "/run/cluster-module-dnsmasq.pid",
    exportsFile: "/etc/exports.d/cluster-module.exports",
    ganeshaConfig: "/etc/ganesha/cluster-module.conf",
    ganeshaStateDir: "/var/lib/cluster-module/ganesha",
    rulesV4File: "/etc/iptables/cluster-module.rules.v4",
    sysctlFile: "/etc/sysctl.d/90-cluster-module-nat.conf",
  },
  wifi: {
    country: "US",
    ssid: "client",
    psk: "secret12",
    hubAccessPoint: false,
    apInterface: "wlan1",
    apBridge: null,
    channel: 6,
  },
};

/** Default settings with some fields replaced (paths and wifi merged field by field). */
export function netbootSettings(
  partial: Partial<Omit<NetbootSettings, "paths" | "wifi">> & {
    paths?: Partial<NetbootPaths>;
    wifi?: Partial<WifiSettings>;
  } = {},
): NetbootSettings {
  const defaults = DEFAULT_NETBOOT_SETTINGS;
  return {
    ...defaults,
    ...partial,
    paths: { ...defaults.paths, ...partial.paths },
    wifi: { ...defaults.wifi, ...partial.wifi },
  };
}

const LEASE_TIME = /^([0-9]+[smhdw]?|infinite)$/;
const IPV4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;

/**
 * Checks settings against the node map; returns them unchanged or throws
 * {@link NetbootConfigError} naming the first bad field.
 */
export function validateSettings(map: NodeMap, s: NetbootSettings): NetbootSettings {
  checkInterfaceName(s.clusterInterface, "clusterInterface");
  checkInterfaceName(s.uplinkInterface, "uplinkInterface");
  if (s.clusterInterface === s.uplinkInterface) {
    throw new NetbootConfigError("clusterInterface and uplinkInterface must differ");
  }
  checkDomain(map.config.domain, "node map domain");
  for (const [key, value] of Object.entries(s.paths)) checkPath(value, `paths.${key}`);
  for (const t of [["leaseTime", s.leaseTime], ["learningLeaseTime", s.learningLeaseTime]]) {
    if (!LEASE_TIME.test(t[1])) {
      throw new NetbootConfigError(`${t[0]} "${t[1]}" must look like 12h, 30m, 3600 or infinite`);
    }
  }
  if (s.learningRange) {
    const { first, last } = s.learningRange;
    const reserved = new Set([map.switch.id, map.hub.id]);
    const ok = Number.isInteger(first) && Number.isInteger(last) && first <= last &&
      first > map.bays.length && last < 255;
    if (!ok) {
      throw new NetbootConfigError(
        `learningRange ${first}-${last} must be whole octets ${map.bays.length + 1}..254, ` +
          `first <= last, clear of the node addresses`,
      );
    }
    for (const r of reserved) {
      if (r >= first && r <= last) {
        throw new NetbootConfigError(
          `learningRange ${first}-${last} overlaps reserved address .${r} (switch or hub)`,
        );
      }
    }
  }
  if (s.upstreamDns !== "system") {
    for (const ip of s.upstreamDns) {
      if (!IPV4.test(ip)) {
        throw new NetbootConfigError(`upstreamDns "${ip}" is not an IPv4 address`);
      }
    }
  }
  if (s.nfsServer !== "kernel" && s.nfsServer !== "ganesha") {
    throw new NetbootConfigError(`nfsServer "${s.nfsServer}" must be "kernel" or "ganesha"`);
  }
  if (!Number.isInteger(s.dnsPort) || s.dnsPort < 0 || s.dnsPort > 65535) {
    throw new NetbootConfigError(`dnsPort ${s.dnsPort} is not a port number`);
  }
  if (s.dnsmasqUser !== null) checkBareWord(s.dnsmasqUser, "dnsmasqUser", 32);
  for (
    const [key, value] of [["cmdlinePrefix", s.cmdlinePrefix], [
      "ipxeCmdlinePrefix",
      s.ipxeCmdlinePrefix,
    ]]
  ) {
    checkKernelArgs(value, key, 400);
  }
  if (!/^[A-Z]{2}$/.test(s.wifi.country)) {
    throw new NetbootConfigError(`wifi.country "${s.wifi.country}" must be two capital letters`);
  }
  checkLine(s.wifi.ssid, "wifi.ssid", 32);
  if (s.wifi.ssid === "" || new TextEncoder().encode(s.wifi.ssid).length > 32) {
    throw new NetbootConfigError("wifi.ssid must be 1 to 32 bytes");
  }
  if (!/^[\x20-\x7e]{8,63}$/.test(s.wifi.psk)) {
    throw new NetbootConfigError("wifi.psk must be 8 to 63 printable ASCII characters");
  }
  checkInterfaceName(s.wifi.apInterface, "wifi.apInterface");
  if (s.wifi.apBridge !== null) {
    checkInterfaceName(s.wifi.apBridge, "wifi.apBridge");
    if (s.wifi.hubAccessPoint && s.wifi.apBridge !== s.clusterInterface) {
      throw new NetbootConfigError(
        `wifi.apBridge "${s.wifi.apBridge}" must be the cluster interface ` +
          `("${s.clusterInterface}") so the Zero Ws join the cluster subnet`,
      );
    }
  }
  if (!Number.isInteger(s.wifi.channel) || s.wifi.channel < 1 || s.wifi.channel > 13) {
    throw new NetbootConfigError(`wifi.channel ${s.wifi.channel} must be 1..13`);
  }
  return s;
}
