/**
 * Every netboot file as one list: what it is called, where it is installed on a live hub,
 * and how a change to it is applied (reload, not restart, wherever the service allows it).
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import {
  DNSMASQ_FILES,
  IPXE_SCRIPT,
  renderDhcpHosts,
  renderDnsmasqConf,
  renderHosts,
  renderLeaseHook,
} from "./dnsmasq.ts";
import { renderExports, renderGaneshaConf } from "./nfs.ts";
import { renderRulesV4, renderSysctl } from "./nat.ts";
import { renderCmdline, renderConfigTxt, renderIpxeScript } from "./cmdline.ts";
import { renderHostapd, renderWpaSupplicant } from "./wifi.ts";
import { overlayBays } from "./overlays.ts";

/**
 * How a changed file takes effect:
 * - `dnsmasq-restart`: dnsmasq.conf is read only at start;
 * - `dnsmasq-hup`: dhcp-hosts and hosts are re-read on SIGHUP;
 * - `exportfs`: `exportfs -ra` (kernel NFS server);
 * - `ganesha-restart`: nfs-ganesha (the hub's child) restarts with its new configuration;
 * - `iptables`: `iptables-restore --noflush` of our chains, plus the jumps to them;
 * - `sysctl`: `sysctl -p FILE`;
 * - `none`: read when used (boot files, hook script) or copied by hand (WiFi files).
 */
export type ReloadAction =
  | "dnsmasq-restart"
  | "dnsmasq-hup"
  | "exportfs"
  | "ganesha-restart"
  | "iptables"
  | "sysctl"
  | "none";

/** One rendered file. */
export interface RenderedFile {
  /** Relative name, also its path inside a dry-run directory, e.g. `dnsmasq/dnsmasq.conf`. */
  name: string;
  /** Absolute install path on a live hub, or null for files to copy by hand. */
  path: string | null;
  content: string;
  /** File mode (octal). */
  mode: number;
  reload: ReloadAction;
}

/** Renders every file from the node map, the settings and the learned MAC table. */
export function renderNetbootFiles(
  map: NodeMap,
  s: NetbootSettings,
  macs: ReadonlyMap<number, string>,
): RenderedFile[] {
  validateSettings(map, s);
  const c = s.paths.configDir;
  const files: RenderedFile[] = [
    {
      name: `dnsmasq/${DNSMASQ_FILES.conf}`,
      path: `${c}/${DNSMASQ_FILES.conf}`,
      content: renderDnsmasqConf(map, s),
      mode: 0o644,
      reload: "dnsmasq-restart",
    },
    {
      name: `dnsmasq/${DNSMASQ_FILES.dhcpHosts}`,
      path: `${c}/${DNSMASQ_FILES.dhcpHosts}`,
      content: renderDhcpHosts(map, macs),
      mode: 0o644,
      reload: "dnsmasq-hup",
    },
    {
      name: `dnsmasq/${DNSMASQ_FILES.hosts}`,
      path: `${c}/${DNSMASQ_FILES.hosts}`,
      content: renderHosts(map),
      mode: 0o644,
      reload: "dnsmasq-hup",
    },
    {
      name: `dnsmasq/${DNSMASQ_FILES.hook}`,
      path: `${c}/${DNSMASQ_FILES.hook}`,
      content: renderLeaseHook(map, s),
      mode: 0o755,
      reload: "none",
    },
    s.nfsServer === "kernel"
      ? {
        name: "nfs/cluster-module.exports",
        path: s.paths.exportsFile,
        content: renderExports(map, s),
        mode: 0o644,
        reload: "exportfs",
      }
      : {
        name: "nfs/ganesha.conf",
        path: s.paths.ganeshaConfig,
        content: renderGaneshaConf(map, s),
        mode: 0o644,
        reload: "ganesha-restart",
      },
    {
      name: "nat/cluster-module.rules.v4",
      path: s.paths.rulesV4File,
      content: renderRulesV4(map, s),
      mode: 0o644,
      reload: "iptables",
    },
    {
      name: "nat/90-cluster-module-nat.conf",
      path: s.paths.sysctlFile,
      content: renderSysctl(),
      mode: 0o644,
      reload: "sysctl",
    },
    {
      name: "boot/cmdline.txt",
      path: `${s.paths.tftpRoot}/cmdline.txt`,
      content: renderCmdline(map, s),
      mode: 0o644,
      reload: "none",
    },
    {
      name: `boot/${IPXE_SCRIPT}`,
      path: `${s.paths.tftpRoot}/${IPXE_SCRIPT}`,
      content: renderIpxeScript(map, s),
      mode: 0o644,
      reload: "none",
    },
  ];
  if (s.configTxt) {
    files.push({
      name: "boot/config.txt",
      path: `${s.paths.tftpRoot}/config.txt`,
      content: renderConfigTxt(map, s),
      mode: 0o644,
      reload: "none",
    });
  }
  if (s.overlays) {
    for (const bay of overlayBays(map)) {
      files.push({
        name: `boot/${bay.ip}/cmdline.txt`,
        path: `${s.paths.tftpRoot}/${bay.ip}/cmdline.txt`,
        content: renderCmdline(map, s, bay.id),
        mode: 0o644,
        reload: "none",
      });
      files.push({
        name: `boot/${bay.ip}/${IPXE_SCRIPT}`,
        path: `${s.paths.tftpRoot}/${bay.ip}/${IPXE_SCRIPT}`,
        content: renderIpxeScript(map, s, bay.id),
        mode: 0o644,
        reload: "none",
      });
    }
  }
  files.push({
    name: "wifi/wpa_supplicant.conf",
    path: null,
    content: renderWpaSupplicant(map, s),
    mode: 0o600,
    reload: "none",
  });
  if (s.wifi.hubAccessPoint) {
    files.push({
      name: "wifi/hostapd.conf",
      path: null,
      content: renderHostapd(map, s),
      mode: 0o600,
      reload: "none",
    });
  }
  return files;
}
