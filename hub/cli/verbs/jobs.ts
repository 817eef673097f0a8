/** `job [ID] [--wait]`, `cancel ID`: show, wait for and stop jobs. */
import { ClusterError } from "../../../shared/errors.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";
import { followJob, progressBar } from "../job_progress.ts";

/** `14:03:07` in local time (the hub's clock, as the jobs carry it). */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0"))
    .join(":");
}

/** `12.3 s`, `4m05s`, `2h10m`. */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** When a job started and how long it ran (or has run so far). */
export function jobTimes(j: Job, now = Date.now()): string {
  return `started ${clockTime(j.createdAt)}, ` +
    (j.finishedAt === null
      ? `running for ${duration(now - j.createdAt)}`
      : `took ${duration(j.finishedAt - j.createdAt)}`);
}

/** `cm job [ID] [--wait]`: one job, or the recent ones. */
export const jobCommand: CliCommand = {
  name: "job",
  usage: "job [ID] [--wait]",
  summary: "show one job (--wait: follow it to its end), or list recent jobs",
  flags: { "--wait": "follow the job with its progress until it ends; exit 0 if it succeeded" },
  help: "Ctrl-C while waiting stops watching (exit 130) and leaves the job running; to stop the\n" +
    "job itself: cm cancel ID.",
  async run(ctx) {
    const wait = ctx.args.includes("--wait");
    const args = ctx.args.filter((a) => a !== "--wait");
    if (args.length > 1 || (wait && args.length !== 1)) {
      throw new ClusterError("bad_request", `usage: ${jobCommand.usage}`);
    }
    if (args.length === 1) {
      let job = await ctx.api.get<Job>(`/jobs/${encodeURIComponent(args[0])}`);
      // Ctrl-C stops watching (the default signal action); it does not cancel a job this call
      // did not start.
      if (wait) job = await followJob({ ...ctx, interactive: false }, job);
      ctx.out(
        ctx.json ? JSON.stringify(job, null, 2) : [
          `${job.id} ${job.state} ${job.kind} ${job.summary}; ${jobTimes(job)}`,
          ...(wait ? [] : [`  ${progressBar(job)}`]),
          ...(job.error ? [`  ${job.error}`] : []),
          ...(job.state === "running" || job.state === "queued"
            ? [`  follow it to its end: cm job ${job.id} --wait`]
            : []),
        ].join("\n"),
      );
      return wait && job.state !== "succeeded" ? 1 : 0;
    }
    const jobs = await ctx.api.get<Job[]>("/jobs");
    ctx.out(
      ctx.json
        ? JSON.stringify(jobs, null, 2)
        : jobs.map((j) =>
          `${j.id} ${j.state.padEnd(9)} ${clockTime(j.createdAt)} ${
            (j.finishedAt === null ? "…" : duration(j.finishedAt - j.createdAt)).padStart(7)
          } ${j.kind} ${j.summary}`
        ).join("\n") ||
          "no jobs yet",
    );
    return 0;
  },
};

/** `cm cancel ID`: asks the hub to stop a running job. */
export const cancelCommand: CliCommand = {
  name: "cancel",
  usage: "cancel ID",
  summary: "stop a running job (a self test switches off what it switched on)",
  flags: {},
  async run(ctx) {
    if (ctx.args.length !== 1) throw new ClusterError("bad_request", "usage: cancel ID");
    const job = await ctx.api.post<Job>(`/jobs/${encodeURIComponent(ctx.args[0])}/cancel`);
    ctx.out(
      ctx.json
        ? JSON.stringify(job, null, 2)
        : `cancel requested for ${job.id}; wait for it to stop: cm job ${job.id} --wait`,
    );
    return 0;
  },
};
