/** Verbs that start a long job on the hub and follow it: `testall`, `activetest`, `bootstrap`. */
import { ClusterError } from "../../../shared/errors.ts";
import type { BootstrapPlan, Job } from "../../../shared/schemas.ts";
import { formatNodeSet } from "../../../shared/range.ts";
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

/** A verb's `--dry-run`: the route that answers the plan for the same body, and how to print it. */
export interface DryRun<P> {
  path: string;
  format(plan: P): string;
}

/**
 * Builds a verb that POSTs to `path` (optionally with a node set) and follows the job. `flags`
 * maps a verb flag (e.g. `--skip-preflight`) to the body field it sets true. With `dryRun`,
 * `--dry-run` POSTs the same body to the plan route and prints the plan instead.
 */
export function jobVerb<P>(
  name: string,
  path: string,
  summary: string,
  flags: Record<string, string> = {},
  dryRun?: DryRun<P>,
): CliCommand {
  const known = dryRun ? [...Object.keys(flags), "--dry-run"] : Object.keys(flags);
  const flagUsage = known.map((f) => ` [${f}]`).join("");
  return {
    name,
    usage: `${name} [SET]${flagUsage}`,
    summary,
    async run(ctx) {
      const args = ctx.args.filter((a) => !known.includes(a));
      if (args.length > 2 || args.some((a) => a.startsWith("--"))) {
        throw new ClusterError("bad_request", `usage: ${name} [SET]${flagUsage}`);
      }
      const body: Record<string, unknown> = args.length ? { nodes: args.join(" ") } : {};
      for (const a of ctx.args) if (a in flags) body[flags[a]] = true;
      if (dryRun && ctx.args.includes("--dry-run")) {
        const plan = await ctx.api.post<P>(dryRun.path, body);
        ctx.out(ctx.json ? JSON.stringify(plan, null, 2) : dryRun.format(plan));
        return 0;
      }
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
/** The dry run of a bootstrap: what it switches off, tests and boots, and what it leaves alone. */
export function formatBootstrapPlan(p: BootstrapPlan): string {
  const set = (ids: number[]) => formatNodeSet(ids) || "none";
  const lines = [
    `dry run: bootstrap ${set(p.nodes)} — nothing is switched`,
    `switches off: ${set(p.switchedOff)}${p.othersOff ? " (--others-off)" : ""}`,
    `self-tests and boots: ${set(p.nodes)}`,
    `leaves untouched: ${set(p.untouched)}${
      p.untouched.length && !p.othersOff ? " (--others-off would switch them off)" : ""
    }`,
  ];
  if (p.skippedQuarantined.length) {
    lines.push(`skipped (quarantined): ${set(p.skippedQuarantined)}`);
  }
  for (const s of p.timeline) {
    lines.push(
      `${`+${(s.atMs / 1000).toFixed(1)} s`.padStart(8)}  ${s.stage.replaceAll("_", " ")}`,
    );
  }
  return lines.join("\n");
}

/** `cm bootstrap`: the staged bootstrap of a set (after the preflight). */
export const bootstrapCommand = jobVerb<BootstrapPlan>(
  "bootstrap",
  "/bootstrap",
  "preflight, then staged bootstrap of SET: SET off, self test, boot (supervised), heartbeats; other bays untouched unless --others-off",
  { "--skip-preflight": "skipPreflight", "--others-off": "othersOff" },
  { path: "/bootstrap/plan", format: formatBootstrapPlan },
);
