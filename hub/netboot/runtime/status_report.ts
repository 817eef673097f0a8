/**
 * The netboot status pages, from snapshots (pure): the rows of `GET /services` and the body of
 * `GET /netboot/status`.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import type {
  ApplyResult,
  NetbootStatus,
  ServicesResponse,
} from "../../../shared/netboot_schemas.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import type { ModeDecision } from "./mode.ts";
import type { ServiceStatus } from "./supervised_process.ts";
import type { NetbootCheckResults } from "./netboot_checks.ts";

/** What the service rows are made from. */
export interface ServicesSnapshot {
  mode: ModeDecision;
  dryDir: string;
  dnsmasq: ServiceStatus;
  /** rpcbind and nfs-ganesha (nfsServer "ganesha"), else empty. */
  nfsServices: ServiceStatus[];
  checks: NetbootCheckResults;
}

/** Rows for `GET /services`: dnsmasq, the NFS server's processes, the NFS and NAT checks. */
export function servicesResponse(v: ServicesSnapshot): ServicesResponse {
  const d = v.dnsmasq;
  const live = v.mode.mode === "live";
  const dnsDetail = !live
    ? `dry mode (${v.mode.reason}): configs rendered to ${v.dryDir}`
    : d.lastError ?? (d.state === "running" ? "serving DHCP, DNS and TFTP" : d.state);
  return {
    mode: v.mode.mode,
    services: [
      { name: "dnsmasq", state: d.state, detail: dnsDetail, pid: d.pid, restarts: d.restarts },
      ...v.nfsServices.map((p) => ({
        name: p.name,
        state: p.state,
        detail: p.lastError ?? p.state,
        pid: p.pid,
        restarts: p.restarts,
      })),
      ...[v.checks.nfs, v.checks.nat].map((c) => ({
        name: c.name,
        state: c.state,
        detail: c.detail,
        pid: null,
        restarts: null,
      })),
    ],
  };
}

/** What `GET /netboot/status` is made from. */
export interface StatusSnapshot {
  map: NodeMap;
  settings: NetbootSettings;
  mode: ModeDecision;
  dnsmasq: ServiceStatus;
  checks: NetbootCheckResults;
  /** The bay waiting to be learned, or null. */
  waitingFor: number | null;
  learned: number;
  unknownMacs: number;
  lastApply: ApplyResult | null;
}

/** The body of `GET /netboot/status`. */
export function netbootStatus(v: StatusSnapshot): NetbootStatus {
  const s = v.settings;
  const p = v.map.config.subnetPrefix;
  return {
    mode: v.mode.mode,
    modeReason: v.mode.reason,
    dnsmasq: v.dnsmasq,
    nfs: v.checks.nfs,
    nat: v.checks.nat,
    learning: {
      range: s.learningRange ? `${p}.${s.learningRange.first}-${p}.${s.learningRange.last}` : null,
      waitingFor: v.waitingFor,
      learned: v.learned,
      unknownMacs: v.unknownMacs,
    },
    overlays: s.overlays,
    lastApply: v.lastApply,
  };
}
