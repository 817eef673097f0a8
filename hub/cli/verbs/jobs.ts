/** `job ID`: show a job. */
import { ClusterError } from "../../../shared/errors.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";
import { progressBar } from "../job_progress.ts";

/** `cm job [ID]`: one job, or the recent ones. */
export const jobCommand: CliCommand = {
  name: "job",
  usage: "job [ID]",
  summary: "show one job, or list recent jobs",
  async run(ctx) {
    if (ctx.args.length > 1) throw new ClusterError("bad_request", "usage: job [ID]");
    if (ctx.args.length === 1) {
      const job = await ctx.api.get<Job>(`/jobs/${encodeURIComponent(ctx.args[0])}`);
      ctx.out(
        ctx.json
          ? JSON.stringify(job, null, 2)
          : `${job.id} ${job.state} ${progressBar(job)}${job.error ? `\n  ${job.error}` : ""}`,
      );
      return 0;
    }
    const jobs = await ctx.api.get<Job[]>("/jobs");
    ctx.out(
      ctx.json
        ? JSON.stringify(jobs, null, 2)
        : jobs.map((j) => `${j.id} ${j.state.padEnd(9)} ${j.kind} ${j.summary}`).join("\n") ||
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
  async run(ctx) {
    if (ctx.args.length !== 1) throw new ClusterError("bad_request", "usage: cancel ID");
    const job = await ctx.api.post<Job>(`/jobs/${encodeURIComponent(ctx.args[0])}/cancel`);
    ctx.out(
      ctx.json
        ? JSON.stringify(job, null, 2)
        : `cancel requested for ${job.id}; follow it: cm job ${job.id}`,
    );
    return 0;
  },
};
