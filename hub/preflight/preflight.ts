/**
 * Preflight: checks a hub is ready to netboot its nodes before a bootstrap (and on demand,
 * `cm preflight`): no other DHCP server on the cluster LAN, the TFTP root with the Pi boot
 * files, the NFS export, IPv4 forwarding and the NAT rules, the hub's address on the cluster
 * interface, a sane clock. In netboot's dry mode the network checks are skipped.
 */
import type { Clock } from "../../shared/clock.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import type { PreflightCheck, PreflightReport } from "../../shared/preflight_schemas.ts";
import type { NetbootSettings } from "../netboot/settings/settings.ts";
import type { CheckResult } from "../netboot/runtime/system_checks.ts";
import {
  checkClock,
  checkHubAddress,
  checkIpForward,
  checkNatRules,
  checkNfsExport,
  checkRogueDhcp,
  checkTftpRoot,
  summarise,
} from "./checks.ts";
import type { PreflightProbes } from "./probes.ts";

/**
 * How long the DHCP probe listens for offers, ms: dnsmasq pings an address for up to 3 s before
 * it offers it to a client it has not seen (measured: the rogue in the netns test).
 */
export const DHCP_PROBE_MS = 4000;

/** What the preflight needs. */
export interface PreflightDeps {
  map: NodeMap;
  settings: NetbootSettings;
  /** Netboot's mode: live, or dry and why. */
  mode: () => { mode: "live" | "dry"; reason: string };
  /** Netboot's own NFS and NAT checks (cached by the supervisor). */
  netbootChecks: () => Promise<{ nfs: CheckResult; nat: CheckResult }>;
  probes: PreflightProbes;
  clock: Clock;
  dhcpProbeMs?: number;
}

/** Runs the preflight checks. */
export class Preflight {
  readonly #d: PreflightDeps;

  constructor(deps: PreflightDeps) {
    this.#d = deps;
  }

  /** Runs every check (the network ones only in live mode). */
  async run(): Promise<PreflightReport> {
    const { map, settings: s, probes, clock } = this.#d;
    const { mode, reason } = this.#d.mode();
    const clockCheck = checkClock(clock.now(), await probes.ntpSynced());
    let checks: PreflightCheck[];
    if (mode === "dry") {
      const skip = (name: PreflightCheck["name"]): PreflightCheck => ({
        name,
        status: "skip",
        detail: `netboot runs in dry mode (${reason}): not checked`,
        hint: "",
      });
      checks = [
        skip("rogue_dhcp"),
        skip("tftp_root"),
        skip("nfs_export"),
        skip("ip_forward"),
        skip("nat_rules"),
        skip("hub_address"),
        clockCheck,
      ];
    } else {
      const prefix = map.config.subnetPrefix;
      const [offers, listing, addresses, sys] = await Promise.all([
        probes.dhcpOffers(`${prefix}.255`, this.#d.dhcpProbeMs ?? DHCP_PROBE_MS),
        probes.listDir(s.paths.tftpRoot),
        probes.addresses(s.clusterInterface),
        this.#d.netbootChecks(),
      ]);
      checks = [
        checkRogueDhcp(offers, map.hub.ip, s.clusterInterface),
        checkTftpRoot(s.paths.tftpRoot, listing),
        checkNfsExport(sys.nfs, s.paths.nfsRoot),
        checkIpForward(sys.nat),
        checkNatRules(sys.nat),
        checkHubAddress(s.clusterInterface, map.hub.ip, addresses),
        clockCheck,
      ];
    }
    return {
      ok: checks.every((c) => c.status !== "fail"),
      at: Math.round(clock.now()),
      mode,
      checks,
      summary: summarise(checks),
    };
  }
}
