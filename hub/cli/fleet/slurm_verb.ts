/**
 * `cm slurm suspend|resume HOSTLIST`: Slurm's power saving through the hubs. slurmctld runs
 * its `SuspendProgram` / `ResumeProgram` with a hostlist (`rowa-node[01-16],rowb-node23`);
 * each host is mapped to its module's hub and node, and each hub switches its nodes off or on
 * in one bulk call, so its inrush limits (per BitBar, per module) pace the rails. The hubs run
 * in parallel: they are separate modules with their own supplies.
 *
 * A host is `PREFIX` + node number, PREFIX being the hub's `slurmPrefix` in the hubs file or,
 * by default, `<module>-node` (lower case: module A's node 7 is `a-node07` or `a-node7`). With
 * one hub in the file its own hostnames (`node07`) work too.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { expandHostlist } from "../../../shared/hostlist.ts";
import { MAX_NODE_ID } from "../../../shared/node_map.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import { runOnHub } from "./fan_out.ts";
import {
  fanOptions,
  type FleetIo,
  type FleetOptions,
  loadFleet,
  refreshModules,
  report,
} from "./fleet_cli.ts";
import type { HubEntry } from "./hubs_file.ts";

/** The usage line. */
export const SLURM_USAGE = "slurm suspend|resume HOSTLIST [--dry-run]";

/** A hub's Slurm name prefix. */
export function slurmPrefix(hub: HubEntry): string | undefined {
  return hub.slurmPrefix ?? (hub.module ? `${hub.module.toLowerCase()}-node` : undefined);
}

/** Where each host is: hub → node ids, and the hosts no hub claims. */
export interface HostMapping {
  byHub: Map<HubEntry, number[]>;
  unknown: string[];
}

/**
 * Maps host names to hubs and nodes (ids up to the largest module shape's; each hub checks its
 * own; hosts of two hubs are an error).
 */
export function mapHosts(hosts: readonly string[], hubs: readonly HubEntry[]): HostMapping {
  const byHub = new Map<HubEntry, number[]>();
  const unknown: string[] = [];
  for (const host of hosts) {
    const owners: [HubEntry, number][] = [];
    for (const hub of hubs) {
      const prefix = slurmPrefix(hub);
      const names = [prefix, hubs.length === 1 ? "node" : undefined].filter((p) => p);
      for (const p of names) {
        if (host.toLowerCase().startsWith(p!.toLowerCase())) {
          const rest = host.slice(p!.length);
          if (/^\d{1,3}$/.test(rest) && Number(rest) >= 1 && Number(rest) <= MAX_NODE_ID) {
            owners.push([hub, Number(rest)]);
            break;
          }
        }
      }
    }
    if (owners.length === 0) unknown.push(host);
    else if (owners.length > 1) {
      throw new ClusterError(
        "conflict",
        `host ${host} matches hubs ${
          owners.map(([h]) => h.name).join(" and ")
        }: give them distinct slurmPrefix values in the hubs file`,
      );
    } else {
      const [hub, node] = owners[0];
      byHub.set(hub, [...(byHub.get(hub) ?? []), node]);
    }
  }
  return { byHub, unknown };
}

/** Runs `cm slurm …`; returns the exit code. */
export async function runSlurm(
  args: string[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<number> {
  const dryRun = args.includes("--dry-run");
  const [action, list, ...extra] = args.filter((a) => a !== "--dry-run");
  if ((action !== "suspend" && action !== "resume") || !list || extra.length > 0) {
    throw new ClusterError("bad_request", `usage: cm ${SLURM_USAGE}`);
  }
  const hosts = expandHostlist(list);
  const { file, path } = loadFleet(io);
  if (file.hubs.length === 0) {
    throw new ClusterError("bad_request", `no hubs in ${path}; add them with cm hubs add NAME URL`);
  }
  let mapping = mapHosts(hosts, file.hubs);
  if (mapping.unknown.length > 0 || file.hubs.some((h) => !h.module)) {
    await refreshModules(file, path, opts, io);
    mapping = mapHosts(hosts, file.hubs);
  }
  const state = action === "resume" ? "on" : "off";
  const plan = [...mapping.byHub].map(([hub, nodes]) => ({ hub, nodes: formatNodeSet(nodes) }));
  for (const p of plan) {
    io.err(
      `cm slurm ${action}: module ${p.hub.module} (hub ${p.hub.name}): nodes ${p.nodes} ${state}`,
    );
  }
  let code = 0;
  if (mapping.unknown.length > 0) {
    const prefixes = file.hubs.map((h) => `${slurmPrefix(h) ?? "?"}N (${h.name})`).join(", ");
    io.err(
      `cm slurm ${action}: no hub has ${
        mapping.unknown.join(", ")
      } (hosts are ${prefixes}); left alone`,
    );
    code = 1;
  }
  if (dryRun || plan.length === 0) return code;
  const command = io.command("powerall");
  if (!command) throw new ClusterError("internal", "the powerall verb is missing");
  const outcomes = await Promise.all(plan.map((p) =>
    runOnHub(p.hub, {
      // Slurm decided: its SuspendProgram runs with no terminal and must not be asked.
      ...fanOptions(
        command,
        [state, p.nodes],
        { ...opts, json: false, assumeYes: true },
        "powerall",
      ),
      expectModule: p.hub.module,
    })
  ));
  return Math.max(code, report(outcomes, { ...opts, json: false }, { ...io, out: io.err }));
}
