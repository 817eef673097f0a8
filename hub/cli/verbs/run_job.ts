/** Verbs that start a long job on the hub and follow it: `testall`, `activetest`, `bootstrap`. */
import { ClusterError } from "../../../shared/errors.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";
import { followJob } from "../job_progress.ts";

/** Prints a job's report: per-node lines where the result has them. */
function printReport(out: (l: string) => void, job: Job): void {
  const result = job.result as { summary?: string; lines?: string[] } | undefined;
  for (const line of result?.lines ?? []) out(line);
  if (result?.summary) out(result.summary);
  else out(`${job.kind} ${job.errorCode === "cancelled" ? "cancelled" : job.state}`);
}

/** Builds a verb that POSTs to `path` (optionally with a node set) and follows the job. */
export function jobVerb(name: string, path: string, summary: string): CliCommand {
  return {
    name,
    usage: `${name} [SET]`,
    summary,
    async run(ctx) {
      if (ctx.args.length > 2) throw new ClusterError("bad_request", `usage: ${name} [SET]`);
      const body = ctx.args.length ? { nodes: ctx.args.join(" ") } : {};
      const job = await followJob(ctx, await ctx.api.post<Job>(path, body));
      if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
      else printReport((l) => ctx.out(l), job);
      if (job.state !== "succeeded" && !ctx.json) ctx.err(`error: ${job.error ?? "failed"}`);
      return job.state === "succeeded" ? 0 : 1;
    },
  };
}

/** `cm testall`: the control-plane self test. */
export const testallCommand = jobVerb(
  "testall",
  "/testall",
  "power-cycle self test of every rail, report per node and bus",
);
/** `cm activetest`: power nodes and wait for their agents. */
export const activetestCommand = jobVerb(
  "activetest",
  "/activetest",
  "power nodes on and time each agent's first heartbeat",
);
/** `cm bootstrap`: the staged bootstrap. */
export const bootstrapCommand = jobVerb(
  "bootstrap",
  "/bootstrap",
  "staged bootstrap: all off, self test, boot enabled nodes, wait for heartbeats",
);
