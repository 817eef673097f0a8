/** `power N on|off|cycle` and `powerall on|off FIRST LAST` (or a node set). */
import { ClusterError } from "../../../shared/errors.ts";
import { safeParse } from "zod/mini";
import type { Job } from "../../../shared/schemas.ts";
import { PowerAction } from "../../../shared/wire_schemas.ts";
import type { CliCommand, CliContext } from "../command.ts";
import { followJob } from "../job_progress.ts";

function action(text: string | undefined): PowerAction {
  const r = safeParse(PowerAction, text);
  if (!r.success) {
    throw new ClusterError("bad_request", `expected on, off or cycle, not "${text ?? ""}"`);
  }
  return r.data;
}

async function runPowerJob(ctx: CliContext, path: string, body: unknown): Promise<number> {
  const started = await ctx.api.post<Job>(`${path}?wait=false`, body);
  const job = await followJob(ctx, started);
  if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
  else if (job.state === "succeeded") ctx.out(`${job.summary}: done`);
  if (job.state !== "succeeded") {
    if (!ctx.json) ctx.err(`error: ${job.error ?? "job failed"}`);
    return 1;
  }
  return 0;
}

/** `cm power N on|off|cycle` */
export const powerCommand: CliCommand = {
  name: "power",
  usage: "power N on|off|cycle",
  summary: "switch one node",
  run(ctx) {
    if (ctx.args.length !== 2) throw new ClusterError("bad_request", "usage: power N on|off|cycle");
    const [node, state] = ctx.args;
    return runPowerJob(ctx, `/nodes/${encodeURIComponent(node)}/power`, { state: action(state) });
  },
};

/** `cm powerall on|off FIRST LAST` or `cm powerall on|off 1-16,23,30-60` */
export const powerallCommand: CliCommand = {
  name: "powerall",
  usage: "powerall on|off|cycle FIRST LAST | powerall on|off|cycle SET (e.g. 1-16,23,30-60)",
  summary: "switch a range or set of nodes, staggered per bus",
  run(ctx) {
    const [state, ...rest] = ctx.args;
    if (rest.length < 1 || rest.length > 2) {
      throw new ClusterError(
        "bad_request",
        "usage: powerall on|off FIRST LAST (or a set like 1-16,23)",
      );
    }
    return runPowerJob(ctx, "/power", { state: action(state), nodes: rest.join(" ") });
  },
};
