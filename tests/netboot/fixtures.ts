/** Test fixtures: settings rooted in a temp dir, an in-memory MAC table, an event recorder. */
import { buildNodeMap } from "../../shared/node_map.ts";
import { EventType } from "../../shared/schemas.ts";
import { type NetbootSettings, netbootSettings } from "../../hub/netboot/settings/settings.ts";
import type { EventSink, MacTable } from "../../hub/netboot/runtime/mac_learner.ts";

/** Settings whose every path lies under `root`. */
export function tempSettings(root: string, extra: Partial<NetbootSettings> = {}): NetbootSettings {
  return netbootSettings({
    ...extra,
    dryDir: `${root}/dry`,
    paths: {
      configDir: `${root}/etc/netboot`,
      tftpRoot: `${root}/pxe/boot`,
      nfsRoot: `${root}/pxe/root`,
      overlayDir: `${root}/pxe/overlay`,
      leaseFile: `${root}/var/dnsmasq.leases`,
      eventsFile: `${root}/var/dhcp-events.log`,
      pidFile: `${root}/run/dnsmasq.pid`,
      exportsFile: `${root}/etc/exports.d/cluster-module.exports`,
      ganeshaConfig: `${root}/etc/ganesha/cluster-module.conf`,
      ganeshaStateDir: `${root}/var/ganesha`,
      rulesV4File: `${root}/etc/iptables/rules.v4`,
      sysctlFile: `${root}/etc/sysctl.d/90-nat.conf`,
    },
  });
}

/**
 * Settings for the real dnsmasq in a test's network namespace: live, on `clusterInterface`,
 * no uplink, no upstream DNS (nothing is forwarded anywhere), running as root.
 */
export function liveNetnsSettings(
  root: string,
  clusterInterface: string,
  dnsmasqBinary: string,
  extra: Partial<NetbootSettings> = {},
): NetbootSettings {
  return tempSettings(root, {
    clusterInterface,
    uplinkInterface: "cmnouplink0",
    upstreamDns: [],
    dnsmasqUser: "root",
    dnsmasqBinary,
    mode: "live",
    ...extra,
  });
}

/** A MAC table that, like the hub's store, refuses to overwrite a bay's MAC. */
export class MemoryMacTable implements MacTable {
  readonly rows = new Map<number, string>();
  all(): Map<number, string> {
    return new Map(this.rows);
  }
  set(node: number, mac: string): void {
    if (this.rows.has(node)) throw new Error(`node ${node} already has MAC ${this.rows.get(node)}`);
    this.rows.set(node, mac);
  }
}

/** One recorded event. */
export interface Recorded {
  type: string;
  node: number | null;
  message: string;
  data: Record<string, unknown>;
}

/** An event sink that checks the type against the shared enum and records it. */
export function eventRecorder(): { events: Recorded[]; emit: EventSink } {
  const events: Recorded[] = [];
  return {
    events,
    emit: (type, node, message, data) => {
      EventType.parse(type);
      events.push({ type, node, message, data });
    },
  };
}

/** The default 60-node map. */
export const defaultMap = buildNodeMap();
