/** `agent-key N`: prints node N's own agent key (to install an agent by hand). */
import { ClusterError } from "../../../shared/errors.ts";
import type { CliCommand } from "../command.ts";

/** `cm agent-key N` */
export const agentKeyCommand: CliCommand = {
  name: "agent-key",
  usage: "agent-key N",
  summary: "print node N's own agent key (install-agent.sh --key-file)",
  flags: {},
  async run(ctx) {
    if (ctx.args.length !== 1) throw new ClusterError("bad_request", "usage: agent-key N");
    const r = await ctx.api.get<{ node: number; key: string }>(
      `/nodes/${encodeURIComponent(ctx.args[0])}/agent-key`,
    );
    ctx.out(ctx.json ? JSON.stringify(r, null, 2) : r.key);
    return 0;
  },
};
