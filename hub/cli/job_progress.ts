/** Follows a job to the end, drawing a progress bar on stderr. */
import type { Job } from "../../shared/schemas.ts";
import type { CliContext } from "./command.ts";

/** Renders `[#####.....] 30/60 label` for a job. */
export function progressBar(job: Job, width = 30): string {
  const { done, total } = job.progress;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const note = job.progress.note ? `: ${job.progress.note}` : "";
  return `[${bar}] ${done}/${total} ${job.kind} ${job.summary}${note}`;
}

/**
 * Polls the job until it finishes; returns the finished job. Ctrl-C asks the hub to cancel
 * the job and keeps following it to its end; a second Ctrl-C stops following (the job, if it
 * still runs, carries on on the hub).
 */
export async function followJob(ctx: CliContext, job: Job, pollMs = 200): Promise<Job> {
  let last = "";
  let lastAt = 0;
  let current = job;
  // On a terminal every step redraws; into a file or pipe, one line every 2 s is enough.
  const everyMs = Deno.stderr.isTerminal() ? 0 : 2000;
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts === 1) {
      ctx.err(`cancelling job ${current.id} (Ctrl-C again to stop watching; it would run on)`);
      ctx.api.post(`/jobs/${encodeURIComponent(current.id)}/cancel`).catch((e) =>
        ctx.err(`could not cancel: ${e instanceof Error ? e.message : e}`)
      );
    } else {
      ctx.err(`stopped watching; job ${current.id} goes on on the hub: cm job ${current.id}`);
      Deno.exit(130);
    }
  };
  const watchSignal = ctx.interactive !== false;
  if (watchSignal) Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    while (current.state === "running" || current.state === "queued") {
      const line = progressBar(current);
      if (line !== last && !ctx.json && Date.now() - lastAt >= everyMs) {
        ctx.err(line);
        last = line;
        lastAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
      current = await ctx.api.get<Job>(`/jobs/${encodeURIComponent(current.id)}`);
    }
  } finally {
    if (watchSignal) Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  if (!ctx.json) ctx.err(progressBar(current));
  return current;
}
