/** `status [N|SET]`: the bays as a table (or JSON). */
import type { ModuleInfo, NodeStatus } from "../../../shared/schemas.ts";
import { parseNodeSet } from "../../../shared/range.ts";
import type { CliCommand } from "../command.ts";
import { formatStatus } from "../format_status.ts";

/** `cm status` */
export const statusCommand: CliCommand = {
  name: "status",
  usage: "status [SET]",
  summary: "table of the bays: power, lifecycle, LED, last heartbeat",
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
    if (!ctx.json) ctx.out(`module ${mod.module} (${mod.nodeCount} bays, ${ctx.api.baseUrl})`);
    ctx.out(ctx.json ? JSON.stringify(nodes, null, 2) : formatStatus(nodes));
    return 0;
  },
};
