/** Verbs that start a long job on the hub and follow it: `testall`, `activetest`, `bootstrap`. */
import { ClusterError } from "../../../shared/errors.ts";
import type { BootstrapPlan, Job } from "../../../shared/schemas.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import type { CliCommand, CliContext } from "../command.ts";
import { confirmRunning, runningAmong, runningIn } from "../confirm.ts";
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

/** A verb's `--dry-run`: the route that answers the plan for the same body, and how to print it. */
export interface DryRun<P> {
  path: string;
  format(plan: P): string;
}

/** How a run verb switches running nodes off, to ask first (see `confirm.ts`). */
export interface JobVerbSwitchOff {
  /** e.g. "switch off", "power-cycle". */
  what: string;
  /** Said after the nodes, e.g. " (the self test leaves them off)". */
  after?: string;
  /**
   * The running nodes the run would switch off, for the request `body`; default: the running
   * nodes of its set (the enabled bays without one).
   */
  running?(ctx: CliContext, body: Record<string, unknown>): Promise<number[]>;
}

/** What a run verb takes besides its name, route and summary. */
export interface JobVerbOptions<P> {
  /** Its own flags, each setting a body field true. */
  flags?: Record<string, JobVerbFlag>;
  /** With it, `--dry-run` POSTs the same body to the plan route and prints the plan instead. */
  dryRun?: DryRun<P>;
  /** With it, the verb asks before switching running nodes off. */
  switchOff?: JobVerbSwitchOff;
  /** More lines for `--help`. */
  help?: string;
}

/** Builds a verb that POSTs to `path` (optionally with a node set) and follows the job. */
export function jobVerb<P>(
  name: string,
  path: string,
  summary: string,
  opts: JobVerbOptions<P> = {},
): CliCommand {
  const flags = opts.flags ?? {};
  const { dryRun, switchOff } = opts;
  const known = dryRun ? [...Object.keys(flags), "--dry-run"] : Object.keys(flags);
  const flagUsage = known.map((f) => ` [${f}]`).join("");
  return {
    name,
    usage: `${name} [SET]${flagUsage}`,
    summary,
    help: opts.help,
    flags: {
      ...Object.fromEntries(Object.entries(flags).map(([f, d]) => [f, d.what])),
      ...(dryRun ? { "--dry-run": "print what it would do; switch nothing" } : {}),
    },
    async run(ctx) {
      const args = ctx.args.filter((a) => !known.includes(a));
      if (args.length > 2 || args.some((a) => a.startsWith("--"))) {
        throw new ClusterError("bad_request", `usage: ${name} [SET]${flagUsage}`);
      }
      const set = args.length ? args.join(" ") : undefined;
      const body: Record<string, unknown> = set !== undefined ? { nodes: set } : {};
      for (const a of ctx.args) if (a in flags) body[flags[a].field] = true;
      if (dryRun && ctx.args.includes("--dry-run")) {
        const plan = await ctx.api.post<P>(dryRun.path, body);
        ctx.out(ctx.json ? JSON.stringify(plan, null, 2) : dryRun.format(plan));
        return 0;
      }
      if (switchOff) {
        const running = switchOff.running
          ? await switchOff.running(ctx, body)
          : await runningIn(ctx, set);
        if (!await confirmRunning(ctx, name, switchOff.what, running, switchOff.after)) return 1;
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

const ASKS = "On a terminal it asks before switching running nodes off; --yes skips that, and\n" +
  "without a terminal --yes (or CM_ASSUME_YES=1) is required.";

/** `cm testall`: the control-plane self test. */
export const testallCommand = jobVerb(
  "testall",
  "/testall",
  "power-cycle self test of every rail, report per node and bus",
  {
    switchOff: { what: "switch off", after: " (the self test leaves every rail it tests off)" },
    help: `SET defaults to the enabled bays. ${ASKS}`,
  },
);
/** `cm activetest`: power nodes and wait for their agents. */
export const activetestCommand = jobVerb(
  "activetest",
  "/activetest",
  "power nodes on and time each agent's first heartbeat",
  {
    help:
      "Nodes already running are reported as such, not timed. It only switches on: it never asks.",
  },
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
  {
    flags: {
      "--skip-preflight": {
        field: "skipPreflight",
        what: "start even though the preflight failed (it still runs and is reported)",
      },
      "--others-off": {
        field: "othersOff",
        what: "also switch off every bay outside SET (never quarantined ones)",
      },
    },
    dryRun: { path: "/bootstrap/plan", format: formatBootstrapPlan },
    switchOff: {
      what: "switch off",
      after: " (the bootstrap switches them off, then boots its set)",
      // Exactly the bays its plan switches off: its set, or every bay with --others-off.
      running: async (ctx, body) =>
        await runningAmong(
          ctx,
          (await ctx.api.post<BootstrapPlan>("/bootstrap/plan", body)).switchedOff,
        ),
    },
    help: `SET defaults to the enabled bays. ${ASKS}`,
  },
);
