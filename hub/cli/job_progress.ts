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

/** After the first Ctrl-C, further ones are ignored this long (a terminal signals the whole
 * process group, so one press under `deno task` can arrive twice). */
export const INTERRUPT_GRACE_MS = 1500;

/**
 * Polls the job until it finishes; returns the finished job. Ctrl-C asks the hub to cancel
 * the job and keeps following it to its end. Further Ctrl-Cs within {@link INTERRUPT_GRACE_MS},
 * or while the cancel request has not been answered, are ignored; a later, separate press stops
 * following (exit 130; the job, if it still runs, carries on on the hub). The CLI never exits
 * before the hub has answered the cancel request (or it failed).
 */
export async function followJob(ctx: CliContext, job: Job, pollMs = 200): Promise<Job> {
  let last = "";
  let lastAt = 0;
  let current = job;
  // On a terminal every step redraws; into a file or pipe, one line every 2 s is enough.
  const everyMs = Deno.stderr.isTerminal() ? 0 : 2000;
  let firstAt = 0;
  let cancelling: Promise<void> | undefined;
  let cancelSettled = false;
  let stopping = false;
  let finished = false;
  const onInterrupt = () => {
    if (finished || stopping) return;
    if (!cancelling) {
      firstAt = Date.now();
      ctx.err(`cancelling job ${current.id} (Ctrl-C again to stop watching; it would run on)`);
      cancelling = ctx.api.post(`/jobs/${encodeURIComponent(current.id)}/cancel`).then(
        () => ctx.err(`cancel of job ${current.id} accepted by the hub`),
        (e) => ctx.err(`could not cancel: ${e instanceof Error ? e.message : e}`),
      ).finally(() => cancelSettled = true);
      return;
    }
    // The same press echoed to the process group, or an impatient double press: ignore.
    if (!cancelSettled || Date.now() - firstAt < INTERRUPT_GRACE_MS) return;
    stopping = true;
    cancelling.finally(() => {
      ctx.err(`stopped watching; job ${current.id} goes on on the hub: cm job ${current.id}`);
      Deno.exit(130);
    });
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
    finished = true;
    if (watchSignal) {
      // Keep swallowing the echo of a press that cancelled the job until the grace period ends,
      // so a late duplicate SIGINT cannot kill the CLI before it reports.
      const left = cancelling ? INTERRUPT_GRACE_MS - (Date.now() - firstAt) : 0;
      if (left > 0) {
        const id = setTimeout(() => Deno.removeSignalListener("SIGINT", onInterrupt), left);
        Deno.unrefTimer(id);
      } else Deno.removeSignalListener("SIGINT", onInterrupt);
    }
  }
  if (cancelling) await cancelling;
  if (!ctx.json) ctx.err(progressBar(current));
  return current;
}
