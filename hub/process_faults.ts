/**
 * The process-level fault policy (docs/faults.md): no promise rejection and no exception
 * thrown from a timer ends the hub. Deno's default is to exit on either; one unhandled
 * rejection in a background task (a job's store write on a full disk, a timer's event) would
 * take the whole cluster's controller down, and systemd's restart re-reads every rail.
 *
 * - Background work ends its promise chains with `.catch(backgroundFailed("what"))`: the
 *   failure is logged with what was running and counted by task.
 * - Whatever still escapes reaches the `unhandledrejection` / `error` listeners that
 *   `installFaultPolicy` puts on the global scope (hub/main.ts, once): logged with its stack,
 *   counted, and the process goes on.
 * Both counts are in `/metrics` (`cluster_background_failures_total`, `cluster_unexpected_faults_total`).
 */

/** Counts of failures that were caught instead of ending the process. */
export class ProcessFaults {
  /** Background task failures, by task name. */
  readonly background = new Map<string, number>();
  /** Faults that reached the global listeners, by kind. */
  readonly unexpected = { rejection: 0, exception: 0 };
  #log: (line: string) => void = (line) => console.error(line);
  #lastLogAt = new Map<string, number>();

  /** Where lines go (default console.error). */
  setLog(log: (line: string) => void): void {
    this.#log = log;
  }

  /** Records a failed background task; logs at most one line per task every 10 s. */
  backgroundFailed(task: string, error: unknown): void {
    const n = (this.background.get(task) ?? 0) + 1;
    this.background.set(task, n);
    this.#rateLimited(
      task,
      `hub: background task "${task}" failed (${n} so far): ${describe(error, false)}`,
    );
  }

  /** Records a fault nobody handled (from the global listeners). */
  unexpectedFault(kind: "rejection" | "exception", error: unknown): void {
    this.unexpected[kind]++;
    this.#rateLimited(
      `unexpected:${kind}`,
      `hub: unexpected ${kind === "rejection" ? "promise rejection" : "exception"} (${
        this.unexpected[kind]
      } so far; the hub goes on): ${describe(error, true)}`,
    );
  }

  #rateLimited(key: string, line: string): void {
    const now = Date.now();
    if (now - (this.#lastLogAt.get(key) ?? -Infinity) < 10_000) return;
    this.#lastLogAt.set(key, now);
    this.#log(line);
  }
}

function describe(error: unknown, stack: boolean): string {
  if (error instanceof Error) return stack && error.stack ? error.stack : error.message;
  return String(error);
}

/** The hub process's one set of counters. */
export const processFaults = new ProcessFaults();

/** A `.catch` handler for background work: logs and counts the failure under `task`. */
export function backgroundFailed(task: string): (error: unknown) => void {
  return (error) => processFaults.backgroundFailed(task, error);
}

/**
 * Keeps the process alive through unhandled rejections and uncaught exceptions (each is
 * logged and counted). Returns a function that removes the listeners.
 */
export function installFaultPolicy(faults: ProcessFaults = processFaults): () => void {
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    faults.unexpectedFault("rejection", e.reason);
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    faults.unexpectedFault("exception", e.error ?? e.message);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}
