/** `boot N`: a node's boot timeline (latest and the one before), from GET /nodes/:id/boot. */
import { ClusterError } from "../../../shared/errors.ts";
import type { NodeBoot } from "../../../shared/boot_schemas.ts";
import type { NodeStatus } from "../../../shared/schemas.ts";
import { type CliCommand, nodeIdArg } from "../command.ts";
import { formatBoot } from "../format_boot.ts";

/** `cm boot N` */
export const bootCommand: CliCommand = {
  name: "boot",
  usage: "boot N",
  summary: "a node's boot timeline: power-on, DHCP, TFTP, NFS root, heartbeat, running",
  flags: {},
  async run(ctx) {
    const [id, ...extra] = ctx.args;
    if (!id || extra.length) throw new ClusterError("bad_request", `usage: ${bootCommand.usage}`);
    nodeIdArg(id);
    const b = await ctx.api.get<NodeBoot>(`/nodes/${id}/boot`);
    if (ctx.json) {
      ctx.out(JSON.stringify(b, null, 2));
      return 0;
    }
    const node = await ctx.api.get<NodeStatus>(`/nodes/${id}`);
    ctx.out(formatBoot(b, node.power.actual === "off"));
    return 0;
  },
};
