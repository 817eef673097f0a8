/**
 * Follows a job to the end, drawing its progress on stderr: redrawn in place on a terminal,
 * whole lines elsewhere (see `progress_line.ts`).
 */
import { Job, parseOrThrow } from "../../shared/wire_schemas.ts";
import type { CliContext } from "./command.ts";
import {
  LineProgress,
  type ProgressSink,
  TERMINAL_MARGIN,
  TerminalProgress,
} from "./progress_line.ts";

/** Renders `[#####.....] 30/60 label` for a job, without the countdown. */
function barWithoutCountdown(job: Job, width: number): string {
  const { done, total } = job.progress;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const note = job.progress.note ? `: ${job.progress.note}` : "";
  return `[${bar}] ${done}/${total} ${job.kind} ${job.summary}${note}`;
}

/** `, 23 s left` for a running step that waits for a known time; "" otherwise. */
export function countdown(job: Job): string {
  const ms = job.progress.remainingMs;
  if (ms === undefined || (job.state !== "running" && job.state !== "queued")) return "";
  return `, ${Math.ceil(ms / 1000)} s left`;
}

/**
 * Renders `[#####.....] 30/60 label` for a job, with the countdown of a step that waits, e.g.
 * `[.....] 0/5 bootstrap 1-60: fabric: waiting for the switch, 23 s left`.
 */
export function progressBar(job: Job, width = 30): string {
  return barWithoutCountdown(job, width) + countdown(job);
}

/** The bar's width: 30, narrower (down to 10) where a terminal is too narrow for the line. */
function barWidth(ctx: CliContext, job: Job): number {
  if (!ctx.terminal) return 30;
  const rest = [...barWithoutCountdown(job, 0)].length + countdown(job).length;
  return Math.max(10, Math.min(30, ctx.terminal.columns() - TERMINAL_MARGIN - rest));
}

/** The display for `ctx`: in place on a terminal, lines elsewhere. */
function sinkFor(ctx: CliContext): ProgressSink {
  return ctx.terminal ? new TerminalProgress(ctx.terminal) : new LineProgress((l) => ctx.err(l));
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
  // The hub's answers are checked against the one schema before they are drawn.
  const checked = (value: unknown) => parseOrThrow(Job, value, "job from the hub");
  let current = checked(job);
  // --json prints the job at the end and no progress.
  const sink: ProgressSink = ctx.json
    ? { update() {}, log: (l) => ctx.err(l), end() {} }
    : sinkFor(ctx);
  const show = (j: Job) =>
    sink.update({ text: barWithoutCountdown(j, barWidth(ctx, j)), tail: countdown(j) });
  let firstAt = 0;
  let cancelling: Promise<void> | undefined;
  let cancelSettled = false;
  let stopping = false;
  let finished = false;
  const onInterrupt = () => {
    if (finished || stopping) return;
    if (!cancelling) {
      firstAt = Date.now();
      sink.log(`cancelling job ${current.id} (Ctrl-C again to stop watching; it would run on)`);
      cancelling = ctx.api.post(`/jobs/${encodeURIComponent(current.id)}/cancel`).then(
        () => sink.log(`cancel of job ${current.id} accepted by the hub`),
        (e) => sink.log(`could not cancel: ${e instanceof Error ? e.message : e}`),
      ).finally(() => cancelSettled = true);
      return;
    }
    // The same press echoed to the process group, or an impatient double press: ignore.
    if (!cancelSettled || Date.now() - firstAt < INTERRUPT_GRACE_MS) return;
    stopping = true;
    // deno-lint-ignore hub/no-floating-promise -- `cancelling` handles both outcomes where it is made
    cancelling.finally(() => {
      sink.end();
      ctx.err(
        `stopped watching; job ${current.id} goes on on the hub; follow it again: cm job ${current.id} --wait`,
      );
      Deno.exit(130);
    });
  };
  const watchSignal = ctx.interactive !== false;
  if (watchSignal) Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    while (current.state === "running" || current.state === "queued") {
      show(current);
      await new Promise((r) => setTimeout(r, pollMs));
      current = checked(await ctx.api.get<unknown>(`/jobs/${encodeURIComponent(current.id)}`));
    }
    show(current);
  } finally {
    // The last progress stays as a line, also when following failed (hub gone).
    sink.end();
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
  return current;
}
