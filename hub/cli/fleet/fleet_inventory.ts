/**
 * One Ansible inventory over many hubs. Each hub's own inventory (`GET /inventory?all=true`)
 * is merged: groups of the same name (a model, a BitBar, a lifecycle) are joined, each module
 * keeps its own `module_<name>` group. A node is named by its hostname when that is unique in
 * the fleet, else `MODULE:N`; names that collide are reported, never merged. A module served
 * by two hubs is left out and reported.
 */
import { fleetNodeName } from "../../../shared/module_name.ts";

/** Host variables as a hub gives them (see hub/http/routes/inventory.ts). */
export type HubHostVars = Record<string, unknown> & { node_id: number; module: string };

/** A hub's inventory document. */
export interface HubInventory {
  all: { children: string[] };
  _meta: { hostvars: Record<string, HubHostVars> };
  [group: string]: unknown;
}

/** One hub's answer. */
export interface HubInventoryPart {
  hub: string;
  /** The hub's host (for a ProxyJump to the module's LAN). */
  hubHost: string;
  module: string;
  inventory: HubInventory;
}

/** The merged inventory and what had to be reported. */
export interface FleetInventory {
  inventory: Record<string, unknown> & {
    all: { children: string[] };
    _meta: { hostvars: Record<string, Record<string, unknown>> };
  };
  /** Hostnames found on more than one module → the modules (those hosts are named MODULE:N). */
  renamed: Map<string, string[]>;
  /** Modules served by more than one hub → the hubs (left out). */
  collisions: Map<string, string[]>;
}

function groupHosts(inv: HubInventory, group: string): string[] {
  const g = inv[group] as { hosts?: string[] } | undefined;
  return g?.hosts ?? [];
}

/** Merges the hubs' inventories. */
export function mergeInventories(parts: readonly HubInventoryPart[]): FleetInventory {
  const byModule = new Map<string, string[]>();
  for (const p of parts) byModule.set(p.module, [...(byModule.get(p.module) ?? []), p.hub]);
  const collisions = new Map([...byModule].filter(([, hubs]) => hubs.length > 1));
  const kept = parts.filter((p) => !collisions.has(p.module));

  const modulesOf = new Map<string, string[]>();
  for (const p of kept) {
    for (const host of Object.keys(p.inventory._meta.hostvars)) {
      modulesOf.set(host, [...(modulesOf.get(host) ?? []), p.module]);
    }
  }
  const renamed = new Map([...modulesOf].filter(([, mods]) => mods.length > 1));

  const groups = new Map<string, string[]>();
  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const p of kept) {
    const name = (host: string) =>
      renamed.has(host) ? fleetNodeName(p.module, p.inventory._meta.hostvars[host].node_id) : host;
    for (const [host, vars] of Object.entries(p.inventory._meta.hostvars)) {
      hostvars[name(host)] = { ...vars, hostname: host, cm_hub: p.hub, cm_hub_host: p.hubHost };
    }
    for (const group of p.inventory.all.children) {
      const hosts = groupHosts(p.inventory, group).map(name);
      groups.set(group, [...(groups.get(group) ?? []), ...hosts]);
    }
  }
  const isModule = (g: string) => g.startsWith("module_");
  const order = [...groups.keys()].sort((a, b) =>
    Number(isModule(b)) - Number(isModule(a)) || a.localeCompare(b)
  );
  const inventory: FleetInventory["inventory"] = {
    all: { children: order },
    _meta: { hostvars },
  };
  for (const g of order) inventory[g] = { hosts: groups.get(g) };
  return { inventory, renamed, collisions };
}

/** What to report about a merge (one line per kind, not per host). */
export function mergeReport(f: FleetInventory): string[] {
  const lines: string[] = [];
  if (f.renamed.size > 0) {
    const names = [...f.renamed.keys()];
    const shown = names.length > 4
      ? `${names.slice(0, 3).join(", ")} … ${names.at(-1)}`
      : names.join(", ");
    const modules = [...new Set([...f.renamed.values()].flat())].sort().join(", ");
    lines.push(
      `${names.length} hostnames repeat across modules ${modules} (${shown}): those nodes are listed as MODULE:N, never merged`,
    );
  }
  for (const [module, hubs] of f.collisions) {
    lines.push(
      `module ${module} is served by hubs ${
        hubs.join(", ")
      }: its nodes are left out; start one hub with another --module`,
    );
  }
  return lines;
}
