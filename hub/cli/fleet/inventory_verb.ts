/**
 * `inventory [--running] [--list] [--host NAME]`: the hub's Ansible inventory (every node, with
 * lifecycle groups; `--running`: running nodes only), as JSON for `ansible-inventory -i`.
 * `cm -A inventory` merges every hub's (hub/cli/fleet/fleet_inventory.ts). Ansible calls an
 * inventory script with `--list` (everything) or `--host NAME` (one host's variables).
 */
import { ClusterError } from "../../../shared/errors.ts";
import type { CliCommand } from "../command.ts";
import type { HubInventory } from "./fleet_inventory.ts";

/** The inventory flags. */
export interface InventoryArgs {
  running: boolean;
  /** `--host NAME`: print only this host's variables. */
  host?: string;
}

/** Parses the inventory flags. */
export function inventoryArgs(args: readonly string[]): InventoryArgs {
  const out: InventoryArgs = { running: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--running") out.running = true;
    else if (a === "--list") continue;
    else if (a === "--host" && args[i + 1] !== undefined) out.host = args[++i];
    else {
      throw new ClusterError("bad_request", "usage: inventory [--running] [--list | --host NAME]");
    }
  }
  return out;
}

/** One host's variables out of an inventory document ({} when unknown, as Ansible expects). */
export function hostVarsOf(inv: { _meta: { hostvars: Record<string, unknown> } }, host: string) {
  return inv._meta.hostvars[host] ?? {};
}

/** `cm inventory` */
export const inventoryCommand: CliCommand = {
  name: "inventory",
  usage: "inventory [--running] [--list | --host NAME]",
  flags: {
    "--running": "running nodes only",
    "--list": "every host and group (what ansible-inventory asks an inventory script)",
    "--host NAME": "only this host's variables",
  },
  summary: "Ansible inventory (JSON) of every node: groups by module, model, BitBar, lifecycle",
  async run(ctx) {
    const a = inventoryArgs(ctx.args);
    const inv = await ctx.api.get<HubInventory>(`/inventory?all=${!a.running}`);
    ctx.out(JSON.stringify(a.host === undefined ? inv : hostVarsOf(inv, a.host), null, 2));
    return 0;
  },
};
