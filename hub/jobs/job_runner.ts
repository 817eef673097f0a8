/**
 * Jobs: every power operation and test runs as one, with an id, progress and a result,
 * stored so that `GET /api/v1/jobs/:id` answers after a restart too. A job that was
 * running when the hub stopped is marked failed on the next start, never left half-way.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Job, JobKind } from "../../shared/schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import type { EventLog } from "../events/event_log.ts";
import { isStoreFull, type Store } from "../store/store.ts";
import { processFaults } from "../process_faults.ts";

/** Finished jobs kept in memory while the store cannot take them. */
const MAX_UNSAVED_JOBS = 1000;

/** Handed to a job's work function to report progress. */
export interface JobHandle {
  readonly id: string;
  /** Aborted when someone asks to cancel the job; long work checks it between steps. */
  readonly signal: AbortSignal;
  /**
   * Sets progress; `message` is the job's note and goes into the job_progress event.
   * `deadlineAt` (hub clock, ms) is when the current step is due to end, for a step that waits
   * (e.g. the bootstrap's fabric stage): readers get it as `progress.remainingMs`. Each call
   * replaces it; leave it out for a step without one.
   */
  progress(done: number, total?: number, message?: string, deadlineAt?: number): void;
}

/** How a job is started. */
export interface StartOptions {
  /**
   * Run even if the store cannot record the job (a full disk); its outcome is kept in memory.
   * For work the hub must do on its own, such as restoring desired state at start. Calls made
   * by someone get `insufficient_storage` instead.
   */
  evenIfStoreFull?: boolean;
}

/** The abort reason of a job stopped because the hub is shutting down (not on request). */
export const HUB_STOPPING = "the hub is stopping";

/** Throws the `cancelled` error if `signal` has been aborted. */
export function throwIfCancelled(
  signal: AbortSignal | undefined,
  what: string,
  details?: unknown,
  more = "",
): void {
  if (signal?.aborted) {
    const why = signal.reason === HUB_STOPPING
      ? `was stopped because the hub stopped while this job was running${more}; run it again`
      : `was cancelled on request${more}`;
    throw new ClusterError("cancelled", `${what} ${why}`, details);
  }
}

/**
 * How a failed job's error is shown to clients: the ClusterError it stands for, or undefined
 * for an error no layer raised (a bug: logged, shown as `internal`). The hub passes the edge's
 * table (hub/http/errors.ts `clientError`), which also knows the hardware and store errors.
 */
export type JobErrorView = (e: unknown) => ClusterError | undefined;

/** Runs and records jobs. */
export class JobRunner {
  readonly #store: Store;
  readonly #events: EventLog;
  readonly #clock: Clock;
  readonly #shown: JobErrorView;
  readonly #live = new Map<
    string,
    {
      job: Job;
      done: Promise<Job>;
      cancel: AbortController;
      /** When the current step is due to end (hub clock), if it waits. */
      deadlineAt: () => number | undefined;
    }
  >();
  /** Finished jobs the store could not take yet (disk full), by id. */
  readonly #unsaved = new Map<string, Job>();
  #closed = false;
  /** Jobs started since the hub started, per kind and final state (for metrics). */
  readonly finished = new Map<string, number>();

  constructor(
    store: Store,
    events: EventLog,
    clock: Clock,
    shown: JobErrorView = (e) => e instanceof ClusterError ? e : undefined,
  ) {
    this.#store = store;
    this.#events = events;
    this.#clock = clock;
    this.#shown = shown;
  }

  /** Marks jobs left running by a previous hub process as failed; returns them. */
  recoverInterrupted(): Job[] {
    const stale = this.#store.unfinishedJobs();
    for (const job of stale) {
      const failed: Job = {
        ...job,
        state: "failed",
        finishedAt: Math.round(this.#clock.now()),
        error: "the hub restarted while this job was running; run it again",
      };
      this.#record(failed); // on a full disk: answered from memory, stored later
      this.#events.emit(
        "job_progress",
        null,
        `job ${job.id} (${job.kind}) interrupted by restart`,
        {
          job: job.id,
          kind: job.kind,
          state: "failed",
        },
      );
    }
    return stale;
  }

  /** Starts `work` as a job and returns it at once (state running). */
  start(
    kind: JobKind,
    summary: string,
    total: number,
    work: (handle: JobHandle) => Promise<unknown>,
    opts: StartOptions = {},
  ): Job {
    const now = Math.round(this.#clock.now());
    const id = `${kind}-${now.toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
    this.#flushUnsaved();
    const job: Job = {
      id,
      kind,
      state: "running",
      summary,
      progress: { done: 0, total },
      createdAt: now,
      finishedAt: null,
      error: null,
    };
    try {
      this.#store.saveJob(job);
    } catch (e) {
      // A job nobody asked for (restoring desired state at start) runs on a full disk too.
      if (!(opts.evenIfStoreFull && isStoreFull(e))) throw e;
    }
    this.#events.emit("job_progress", null, `job ${id} started: ${kind} ${summary}`, {
      job: id,
      kind,
      state: "running",
      done: 0,
      total,
    });
    let lastSaved = 0;
    let stepDeadline: number | undefined;
    const cancel = new AbortController();
    const handle: JobHandle = {
      id,
      signal: cancel.signal,
      progress: (done, newTotal, message, deadlineAt) => {
        job.progress = {
          done,
          total: newTotal ?? job.progress.total,
          ...(message ? { note: message } : {}),
        };
        stepDeadline = deadlineAt;
        if (this.#closed) return;
        const t = this.#clock.now();
        // Store at most every 200 ms; events for every step (they are the progress bar).
        if (t - lastSaved >= 200 || done === job.progress.total) {
          lastSaved = t;
          try {
            this.#store.saveJob(job);
          } catch (e) {
            // Progress is best-effort on a full disk; the outcome is kept (see #record).
            if (!isStoreFull(e)) throw e;
          }
        }
        this.#events.emit(
          "job_progress",
          null,
          message ?? `job ${id}: ${done}/${job.progress.total}`,
          {
            job: id,
            kind,
            state: "running",
            done,
            total: job.progress.total,
            ...(message ? { note: message } : {}),
            ...(deadlineAt === undefined
              ? {}
              : { remainingMs: Math.max(0, Math.round(deadlineAt - t)) }),
          },
        );
      },
    };
    const done = (async () => {
      try {
        job.result = await work(handle);
        job.state = "succeeded";
      } catch (e) {
        job.state = "failed";
        job.error = e instanceof Error ? e.message : String(e);
        const shown = this.#shown(e);
        job.errorCode = shown?.code ?? "internal";
        if (!shown) console.error(`job ${id} (${kind}) failed:`, e);
        // A typed failure may carry its report (e.g. the self test's per-node results).
        if (shown?.details !== undefined) job.result = shown.details;
      }
      job.finishedAt = Math.round(this.#clock.now());
      this.#live.delete(id);
      if (this.#closed) return { ...job }; // the hub stopped: shutdown() recorded it
      this.finished.set(
        `${kind}:${job.state}`,
        (this.finished.get(`${kind}:${job.state}`) ?? 0) + 1,
      );
      this.#record(job);
      this.#events.emit(
        "job_progress",
        null,
        `job ${id} ${job.state}${job.error ? `: ${job.error}` : ""}`,
        { job: id, kind, state: job.state, done: job.progress.done, total: job.progress.total },
      );
      return { ...job };
    })().catch((e) => {
      // Nobody may be waiting for `done` (?wait=false, WebSocket power, runs): it must never
      // reject. Only a bug gets here; the job is reported failed rather than left running.
      processFaults.backgroundFailed(`job ${kind}`, e);
      this.#live.delete(id);
      const failed: Job = {
        ...job,
        state: "failed",
        finishedAt: Math.round(this.#clock.now()),
        error: `the hub could not finish recording this job: ${e instanceof Error ? e.message : e}`,
        errorCode: "internal",
      };
      this.#unsaved.set(id, failed);
      return { ...failed };
    });
    this.#live.set(id, { job, done, cancel, deadlineAt: () => stepDeadline });
    return this.get(id);
  }

  /**
   * Stores a finished job. On a failing store (a full disk) the job is kept in memory, so
   * `get` still answers with its outcome, and stored by a later `start` once writes work.
   */
  #record(job: Job): void {
    this.#unsaved.set(job.id, { ...job });
    this.#flushUnsaved();
  }

  #flushUnsaved(): void {
    try {
      for (const [id, job] of this.#unsaved) {
        this.#store.saveJob(job);
        this.#unsaved.delete(id);
      }
    } catch (e) {
      if (!isStoreFull(e)) throw e;
      // Kept for later (bounded: the oldest go once there are too many).
      while (this.#unsaved.size > MAX_UNSAVED_JOBS) {
        this.#unsaved.delete(this.#unsaved.keys().next().value!);
      }
    }
  }

  /** A job by id (live or stored); a live one with a step deadline says how long is left. */
  get(id: string): Job {
    const unsaved = this.#unsaved.get(id);
    if (unsaved) return { ...unsaved };
    const live = this.#live.get(id);
    if (live) {
      const progress = { ...live.job.progress };
      const deadlineAt = live.deadlineAt();
      if (deadlineAt !== undefined) {
        progress.remainingMs = Math.max(0, Math.round(deadlineAt - this.#clock.now()));
      }
      return { ...live.job, progress };
    }
    const stored = this.#store.job(id);
    if (!stored) throw new ClusterError("not_found", `no job with id "${id}"`);
    return stored;
  }

  /** Resolves with the finished job; rejects for an unknown id. */
  // deno-lint-ignore require-await
  async wait(id: string): Promise<Job> {
    const live = this.#live.get(id);
    if (live) return live.done;
    return this.get(id);
  }

  /** The newest jobs, newest first. */
  list(limit = 50): Job[] {
    return this.#store.jobs(limit).map((j) =>
      this.#live.has(j.id) || this.#unsaved.has(j.id) ? this.get(j.id) : j
    );
  }

  /**
   * Stops every running run (self test, active test, bootstrap, MAC learning) as a cancel
   * request would: each stops at its next safe point (a self test switches off what it
   * switched on). Power jobs are short and are left to finish.
   */
  stopRuns(): void {
    for (const [id, live] of this.#live) {
      if (live.job.kind === "power" || live.cancel.signal.aborted) continue;
      live.cancel.abort(HUB_STOPPING);
      this.#events.emit("job_progress", null, `job ${id} (${live.job.kind}): ${HUB_STOPPING}`, {
        job: id,
        kind: live.job.kind,
        state: "running",
        done: live.job.progress.done,
        total: live.job.progress.total,
      });
    }
  }

  /**
   * Stops running runs (`stopRuns`), lets jobs finish for up to `graceMs`, then records the
   * rest as failed ("the hub stopped") and stops recording anything: the store is about to
   * close.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.stopRuns();
    const ac = new AbortController();
    await Promise.race([this.drain(), this.#clock.sleep(graceMs, ac.signal)]);
    ac.abort();
    this.#closed = true;
    for (const { job } of this.#live.values()) {
      this.#store.saveJob({
        ...job,
        state: "failed",
        finishedAt: Math.round(this.#clock.now()),
        error: "the hub stopped while this job was running; run it again",
        errorCode: "not_ready",
      });
    }
  }

  /**
   * Asks a running job to stop. Jobs stop at their next safe point (a self test switches off
   * what it switched on); a job that has already ended is a conflict.
   */
  cancel(id: string): Job {
    const live = this.#live.get(id);
    if (!live) {
      const job = this.get(id); // not_found for an unknown id
      throw new ClusterError("conflict", `job ${id} has already ${job.state}; nothing to cancel`);
    }
    if (!live.cancel.signal.aborted) {
      live.cancel.abort();
      this.#events.emit("job_progress", null, `job ${id} (${live.job.kind}): cancel requested`, {
        job: id,
        kind: live.job.kind,
        state: "running",
        done: live.job.progress.done,
        total: live.job.progress.total,
      });
    }
    return this.get(id);
  }

  /** Waits for every running job to finish. */
  async drain(): Promise<void> {
    await Promise.all([...this.#live.values()].map((l) => l.done));
  }

  /** True while a job of `kind` is running. */
  running(kind: JobKind): Job | undefined {
    for (const { job } of this.#live.values()) if (job.kind === kind) return job;
    return undefined;
  }
}
