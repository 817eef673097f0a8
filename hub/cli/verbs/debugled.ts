/** `debugled N identify|heartbeat|on|off` */
import { ClusterError } from "../../../shared/errors.ts";
import { safeParse } from "zod/mini";
import type { NodeStatus } from "../../../shared/schemas.ts";
import { RequestedLedMode } from "../../../shared/wire_schemas.ts";
import type { CliCommand } from "../command.ts";

/** `cm debugled N mode` */
export const debugledCommand: CliCommand = {
  name: "debugled",
  usage: "debugled N identify|heartbeat|on|off",
  summary: "set a bay LED (identify blinks fast to find the node)",
  words: ["identify", "heartbeat", "on", "off"],
  flags: {},
  async run(ctx) {
    const [node, mode] = ctx.args;
    const m = safeParse(RequestedLedMode, mode);
    if (ctx.args.length !== 2 || !m.success) {
      throw new ClusterError("bad_request", "usage: debugled N identify|heartbeat|on|off");
    }
    const status = await ctx.api.post<NodeStatus>(`/nodes/${encodeURIComponent(node)}/led`, {
      mode: m.data,
    });
    ctx.out(ctx.json ? JSON.stringify(status, null, 2) : `node ${status.id} LED ${m.data}`);
    return 0;
  },
};
