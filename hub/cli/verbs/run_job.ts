/** Verbs that start a long job on the hub and follow it: `testall`, `activetest`, `bootstrap`. */
import { ClusterError } from "../../../shared/errors.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";
import { confirmRunning, runningIn } from "../confirm.ts";
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

/** A verb flag that sets a body field true. */
export interface JobVerbFlag {
  /** The request body field it sets to true. */
  field: string;
  /** What it does, for `--help`. */
  what: string;
}

/** How a run verb switches running nodes off, to ask first (see `confirm.ts`). */
export interface JobVerbSwitchOff {
  /** e.g. "switch off", "power-cycle". */
  what: string;
  /** Said after the nodes, e.g. ", and leave them off". */
  after?: string;
}

/**
 * Builds a verb that POSTs to `path` (optionally with a node set) and follows the job. `flags`
 * are its own flags; with `switchOff` it asks before switching running nodes of its set off.
 */
export function jobVerb(
  name: string,
  path: string,
  summary: string,
  flags: Record<string, JobVerbFlag> = {},
  switchOff?: JobVerbSwitchOff,
  help?: string,
): CliCommand {
  const flagUsage = Object.keys(flags).map((f) => ` [${f}]`).join("");
  return {
    name,
    usage: `${name} [SET]${flagUsage}`,
    summary,
    help,
    flags: Object.fromEntries(Object.entries(flags).map(([f, d]) => [f, d.what])),
    async run(ctx) {
      const args = ctx.args.filter((a) => !(a in flags));
      if (args.length > 2 || args.some((a) => a.startsWith("--"))) {
        throw new ClusterError("bad_request", `usage: ${name} [SET]${flagUsage}`);
      }
      const set = args.length ? args.join(" ") : undefined;
      if (switchOff) {
        const running = await runningIn(ctx, set);
        if (!await confirmRunning(ctx, name, switchOff.what, running, switchOff.after)) return 1;
      }
      const body: Record<string, unknown> = set !== undefined ? { nodes: set } : {};
      for (const a of ctx.args) if (a in flags) body[flags[a].field] = true;
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
  {},
  { what: "switch off", after: " (the self test leaves every rail it tests off)" },
  "SET defaults to the enabled bays. On a terminal it asks before switching running nodes off;\n" +
    "--yes skips that, and without a terminal --yes is required.",
);
/** `cm activetest`: power nodes and wait for their agents. */
export const activetestCommand = jobVerb(
  "activetest",
  "/activetest",
  "power nodes on and time each agent's first heartbeat",
  {},
  undefined,
  "Nodes already running are reported as such, not timed. It only switches on: it never asks.",
);
/** `cm bootstrap`: the staged bootstrap (after the preflight). */
export const bootstrapCommand = jobVerb(
  "bootstrap",
  "/bootstrap",
  "preflight, then staged bootstrap: all off, self test, boot (supervised), heartbeats",
  {
    "--skip-preflight": {
      field: "skipPreflight",
      what: "start even though the preflight failed (it still runs and is reported)",
    },
  },
  { what: "switch off", after: " (the bootstrap switches its set off, then boots it)" },
  "SET defaults to the enabled bays. On a terminal it asks before switching running nodes off;\n" +
    "--yes skips that, and without a terminal --yes is required.",
);
