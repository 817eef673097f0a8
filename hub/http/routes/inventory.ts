/**
 * `GET /api/v1/inventory`: an Ansible inventory of the running nodes, grouped by model
 * (`pi3b_plus`, `pi4`, `pi0w`, …) and by bus (`bus01` …), in the dynamic-inventory JSON form
 * (with `_meta.hostvars`) or, with `?format=ini`, the INI form.
 */
import { z } from "zod";
import { ClusterError } from "../../../shared/errors.ts";
import type { Model, NodeStatus } from "../../../shared/schemas.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { route, type RouteSpec } from "../route.ts";

/** Variables of one host. */
export const HostVars = z.strictObject({
  ansible_host: z.string(),
  node_id: z.number().int(),
  bus: z.number().int(),
  slot: z.number().int(),
  model: z.string(),
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

/** The model a node has: what its agent reports, else what the bay expects. */
export function nodeModel(n: NodeStatus): Model {
  const reported = n.agent?.identity.model;
  return reported && reported !== "unknown" ? reported : n.expectedModel;
}

/** Builds the inventory from node statuses (only running nodes are listed). */
export function buildInventory(nodes: readonly NodeStatus[]): Inventory {
  const running = nodes.filter((n) => n.lifecycle === "running");
  const groups = new Map<string, string[]>();
  const hostvars: Record<string, HostVars> = {};
  const add = (group: string, host: string) =>
    groups.set(group, [...(groups.get(group) ?? []), host]);
  for (const n of running) {
    const model = nodeModel(n);
    hostvars[n.hostname] = {
      ansible_host: n.ip,
      node_id: n.id,
      bus: n.bus,
      slot: n.slot,
      model,
    };
    add(modelGroup(model), n.hostname);
  }
  const modelGroups = [...groups.keys()].sort();
  for (const n of running) add(busGroup(n.bus), n.hostname);
  const busGroups = [...groups.keys()].filter((g) => !modelGroups.includes(g)).sort();
  const inv: Record<string, unknown> = { all: { children: [...modelGroups, ...busGroups] } };
  for (const g of [...modelGroups, ...busGroups]) inv[g] = { hosts: groups.get(g) ?? [] };
  inv._meta = { hostvars };
  return inv as Inventory;
}

/** The INI form: host variables on each host's line in its model group, buses as plain lists. */
export function inventoryIni(inv: Inventory): string {
  const hostvars = inv._meta.hostvars;
  const lines: string[] = ["# running nodes of the cluster module, from the hub"];
  for (const group of inv.all.children) {
    const hosts = (inv[group] as { hosts: string[] }).hosts;
    lines.push("", `[${group}]`);
    const isModel = !/^bus[0-9]+$/.test(group);
    for (const h of hosts) {
      if (!isModel) {
        lines.push(h);
        continue;
      }
      const vars = Object.entries(hostvars[h]).map(([k, v]) => `${k}=${v}`);
      lines.push([h, ...vars].join(" "));
    }
  }
  return lines.join("\n") + "\n";
}

/** The `GET /inventory` route spec. */
export function inventoryRoutes(status: NodeStatusReader): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/inventory",
      summary: "Ansible inventory of running nodes, grouped by model and bus (?format=ini for INI)",
      auth: "read",
      response: Inventory,
      media: { "text/plain": "?format=ini: the INI form, host variables on each host's line" },
      query: { format: "json (default) or ini" },
      handler: (c) => {
        const format = c.req.query("format") ?? "json";
        const inv = buildInventory(status.nodes());
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
