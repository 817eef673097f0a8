/** `status [N|SET]`: the bays as a table (or JSON). */
import type { ModuleInfo, NodeStatus } from "../../../shared/schemas.ts";
import type { NodeBoot } from "../../../shared/boot_schemas.ts";
import { parseNodeSet } from "../../../shared/range.ts";
import type { CliCommand } from "../command.ts";
import { formatStatus } from "../format_status.ts";

/** `cm status` */
export const statusCommand: CliCommand = {
  name: "status",
  usage: "status [SET]",
  summary: "table of the bays: power, lifecycle, LED, last heartbeat",
  flags: {},
  async run(ctx) {
    const [all, mod] = await Promise.all([
      ctx.api.get<NodeStatus[]>("/nodes"),
      ctx.api.get<ModuleInfo>("/module"),
    ]);
    let nodes = all;
    if (ctx.args.length > 0) {
      const wanted = new Set(parseNodeSet(ctx.args.join(" "), nodes.length));
      nodes = nodes.filter((n) => wanted.has(n.id));
    }
    if (ctx.json) {
      ctx.out(JSON.stringify(nodes, null, 2));
      return 0;
    }
    // A booting bay whose boot timeline stalled shows as stalled.
    const stalled = new Map<number, string>();
    await Promise.all(
      nodes.filter((n) => n.lifecycle === "booting").map(async (n) => {
        const b = await ctx.api.get<NodeBoot>(`/nodes/${n.id}/boot`);
        if (b.latest?.state === "stalled" && b.latest.stalledAt) {
          stalled.set(n.id, b.latest.stalledAt);
        }
      }),
    );
    ctx.out(`module ${mod.module} (${mod.nodeCount} bays, ${ctx.api.baseUrl})`);
    ctx.out(formatStatus(nodes, Date.now(), stalled));
    return 0;
  },
};
