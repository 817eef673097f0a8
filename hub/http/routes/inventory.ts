/**
 * `GET /api/v1/inventory`: an Ansible inventory of the running nodes (or, `?all=true`, every
 * node), grouped by module (`module_<name>`), model (`pi3b_plus`, `pi4`, `pi0w`, …), BitBar
 * (`bus01` …) and lifecycle (`lifecycle_running` …), in the dynamic-inventory JSON form (with
 * `_meta.hostvars`) or, with `?format=ini`, the INI form.
 */
import { z } from "zod";
import { ClusterError } from "../../../shared/errors.ts";
import type { Model, NodeStatus } from "../../../shared/schemas.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { fleetNodeName, moduleGroup } from "../../../shared/module_name.ts";
import { route, type RouteSpec } from "../route.ts";

/** Variables of one host. */
export const HostVars = z.strictObject({
  ansible_host: z.string(),
  node_id: z.number().int(),
  /** The bay (= node id; bus and slot below). */
  bay: z.number().int(),
  bus: z.number().int(),
  slot: z.number().int(),
  model: z.string(),
  /** Learned MAC, or null before it is known. */
  mac: z.nullable(z.string()),
  /** The module (hub) the node belongs to, and its fleet-wide name `MODULE:N`. */
  module: z.string(),
  fleet_name: z.string(),
  lifecycle: z.string(),
});
export type HostVars = z.infer<typeof HostVars>;

/** The dynamic-inventory JSON document. */
export const Inventory = z.object({
  all: z.strictObject({ children: z.array(z.string()) }),
  _meta: z.strictObject({ hostvars: z.record(z.string(), HostVars) }),
}).catchall(z.strictObject({ hosts: z.array(z.string()) }));
export type Inventory = z.infer<typeof Inventory>;

/** Ansible group name of a model ("pi3b+" → "pi3b_plus"). */
export function modelGroup(model: Model): string {
  return model.replace(/\+/g, "_plus");
}

/** Group name of a bus (3 → "bus03"). */
export function busGroup(bus: number): string {
  return `bus${String(bus).padStart(2, "0")}`;
}

/** Group name of a lifecycle state ("running" → "lifecycle_running"). */
export function lifecycleGroup(state: string): string {
  return `lifecycle_${state}`;
}

/** The model a node has: what its agent reports, else what the bay expects. */
export function nodeModel(n: NodeStatus): Model {
  const reported = n.agent?.identity.model;
  return reported && reported !== "unknown" ? reported : n.expectedModel;
}

/** What to list. */
export interface InventoryOptions {
  /** The module's name (group `module_<name>`, host vars). */
  module: string;
  /** Every node, not only the running ones (the lifecycle groups tell them apart). */
  all?: boolean;
}

/**
 * Builds the inventory from node statuses: the module's group, then groups by model, by
 * BitBar (`bus01` …) and by lifecycle. Only running nodes, unless `all`.
 */
export function buildInventory(nodes: readonly NodeStatus[], opts: InventoryOptions): Inventory {
  const listed = opts.all ? nodes : nodes.filter((n) => n.lifecycle === "running");
  const hostvars: Record<string, HostVars> = {};
  const byKind = [0, 1, 2].map(() => new Map<string, string[]>());
  const add = (kind: number, group: string, host: string) =>
    byKind[kind].set(group, [...(byKind[kind].get(group) ?? []), host]);
  for (const n of listed) {
    const model = nodeModel(n);
    hostvars[n.hostname] = {
      ansible_host: n.ip,
      node_id: n.id,
      bay: n.id,
      bus: n.bus,
      slot: n.slot,
      model,
      mac: n.mac,
      module: opts.module,
      fleet_name: fleetNodeName(opts.module, n.id),
      lifecycle: n.lifecycle,
    };
    add(0, modelGroup(model), n.hostname);
    add(1, busGroup(n.bus), n.hostname);
    add(2, lifecycleGroup(n.lifecycle), n.hostname);
  }
  const moduleGrp = moduleGroup(opts.module);
  const groups: [string, string[]][] = [
    [moduleGrp, listed.map((n) => n.hostname)],
    ...byKind.flatMap((m) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b))),
  ];
  const inv: Record<string, unknown> = { all: { children: groups.map(([g]) => g) } };
  for (const [g, hosts] of groups) inv[g] = { hosts };
  inv._meta = { hostvars };
  return inv as Inventory;
}

/** One host's variables as INI `key=value` pairs (unknown values left out). */
export function iniVars(vars: Record<string, unknown>): string[] {
  return Object.entries(vars).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

/** The INI form: host variables on each host's line in its module group, others plain lists. */
export function inventoryIni(inv: Inventory): string {
  const hostvars = inv._meta.hostvars;
  const lines: string[] = ["# nodes of the cluster module, from the hub"];
  for (const [i, group] of inv.all.children.entries()) {
    const hosts = (inv[group] as { hosts: string[] }).hosts;
    lines.push("", `[${group}]`);
    for (const h of hosts) lines.push(i === 0 ? [h, ...iniVars(hostvars[h])].join(" ") : h);
  }
  return lines.join("\n") + "\n";
}

/** The `GET /inventory` route spec. */
export function inventoryRoutes(status: NodeStatusReader): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/inventory",
      summary:
        "Ansible inventory of running nodes (?all=true: every node), grouped by module, model, bus and lifecycle (?format=ini for INI)",
      auth: "read",
      response: Inventory,
      media: { "text/plain": "?format=ini: the INI form, host variables on each host's line" },
      query: {
        format: "json (default) or ini",
        all: "true: every node, not only the running ones",
      },
      handler: (c) => {
        const format = c.req.query("format") ?? "json";
        const all = c.req.query("all") ?? "false";
        if (all !== "true" && all !== "false") {
          throw new ClusterError("bad_request", `all must be true or false, not "${all}"`);
        }
        const inv = buildInventory(status.nodes(), { module: status.module, all: all === "true" });
        if (format === "json") return c.json(inv);
        if (format === "ini") {
          c.header("content-type", "text/plain; charset=utf-8");
          return c.body(inventoryIni(inv));
        }
        throw new ClusterError("bad_request", `format must be json or ini, not "${format}"`);
      },
    }),
  ];
}
