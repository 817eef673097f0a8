/** Verbs that start a long job on the hub and follow it: `testall`, `activetest`, `bootstrap`. */
import { ClusterError } from "../../../shared/errors.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";
import { followJob } from "../job_progress.ts";
import { formatPreflight } from "./preflight.ts";
import type { PreflightReport } from "../../../shared/preflight_schemas.ts";

/** Prints a job's report: per-node lines where the result has them. */
function printReport(out: (l: string) => void, job: Job): void {
  const result = job.result as { summary?: string; lines?: string[] } | undefined;
  for (const line of result?.lines ?? []) out(line);
  if (result?.summary) out(result.summary);
  else out(`${job.kind} ${job.errorCode === "cancelled" ? "cancelled" : job.state}`);
}

/**
 * Builds a verb that POSTs to `path` (optionally with a node set) and follows the job. `flags`
 * maps a verb flag (e.g. `--skip-preflight`) to the body field it sets true.
 */
export function jobVerb(
  name: string,
  path: string,
  summary: string,
  flags: Record<string, string> = {},
): CliCommand {
  const flagUsage = Object.keys(flags).map((f) => ` [${f}]`).join("");
  return {
    name,
    usage: `${name} [SET]${flagUsage}`,
    summary,
    async run(ctx) {
      const args = ctx.args.filter((a) => !(a in flags));
      if (args.length > 2 || args.some((a) => a.startsWith("--"))) {
        throw new ClusterError("bad_request", `usage: ${name} [SET]${flagUsage}`);
      }
      const body: Record<string, unknown> = args.length ? { nodes: args.join(" ") } : {};
      for (const a of ctx.args) if (a in flags) body[flags[a]] = true;
      let started: Job;
      try {
        started = await ctx.api.post<Job>(path, body);
      } catch (e) {
        // A refused bootstrap says which preflight checks failed and how to fix them.
        const report = (e as ClusterError).details as PreflightReport | undefined;
        if (!ctx.json && Array.isArray(report?.checks)) ctx.err(formatPreflight(report));
        throw e;
      }
      const job = await followJob(ctx, started);
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
/** `cm bootstrap`: the staged bootstrap (after the preflight). */
export const bootstrapCommand = jobVerb(
  "bootstrap",
  "/bootstrap",
  "preflight, then staged bootstrap: all off, self test, boot (supervised), heartbeats",
  { "--skip-preflight": "skipPreflight" },
);
