/**
 * Keeps one child process running: restarts it when it exits, with capped exponential
 * backoff, and gives up (state `failed`) after too many quick failures in a row. A run
 * that lasted `stableMs` resets the backoff.
 */
import type { Clock } from "../../../shared/clock.ts";
import type { ChildProcessHandle, ProcessRunner } from "./process_runner.ts";

/** Lifecycle of a supervised process. */
export type ServiceState = "stopped" | "starting" | "running" | "backoff" | "failed";

/** A snapshot for status pages. */
export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid: number | null;
  /** Restarts after unexpected exits since `start()`. */
  restarts: number;
  lastError: string | null;
  /** When the next restart is due (state backoff), ms since the epoch. */
  nextRestartAt: number | null;
}

/** Backoff tuning. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** A run at least this long counts as healthy and resets the backoff. */
  stableMs: number;
  /** Consecutive quick failures after which the state becomes `failed`. */
  maxFailures: number;
}

/** Defaults: 1 s, doubling, capped at 60 s; healthy after 30 s; give up after 8 quick failures. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 60_000,
  factor: 2,
  stableMs: 30_000,
  maxFailures: 8,
};

/** Delay before restart number `failures` (1-based) under `p`. */
export function backoffDelay(p: BackoffPolicy, failures: number): number {
  return Math.min(p.maxMs, p.initialMs * p.factor ** Math.max(0, failures - 1));
}

/** What to supervise. */
export interface SupervisedProcessOptions {
  name: string;
  cmd: string;
  args: string[];
  runner: ProcessRunner;
  clock: Clock;
  policy?: BackoffPolicy;
  /** After SIGTERM, how long to wait before SIGKILL (default 5000 ms). */
  killAfterMs?: number;
  /** Called on every state change. */
  onState?: (status: ServiceStatus) => void;
  /** Called with every line the child writes to stderr (dnsmasq's log). */
  onStderrLine?: (line: string) => void;
}

/** One supervised child. */
export class SupervisedProcess {
  readonly #o: SupervisedProcessOptions;
  readonly #policy: BackoffPolicy;
  #state: ServiceState = "stopped";
  #child: ChildProcessHandle | null = null;
  #restarts = 0;
  #failures = 0;
  #lastError: string | null = null;
  #nextRestartAt: number | null = null;
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;

  constructor(o: SupervisedProcessOptions) {
    this.#o = o;
    this.#policy = o.policy ?? DEFAULT_BACKOFF;
  }

  /** Current status. */
  status(): ServiceStatus {
    return {
      name: this.#o.name,
      state: this.#state,
      pid: this.#child && this.#state === "running" ? this.#child.pid : null,
      restarts: this.#restarts,
      lastError: this.#lastError,
      nextRestartAt: this.#nextRestartAt,
    };
  }

  #set(state: ServiceState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#o.onState?.(this.status());
  }

  /** Starts the process and its watch loop (no-op when already supervising). */
  start(): void {
    if (this.#loop && this.#state !== "failed") return;
    this.#restarts = 0;
    this.#failures = 0;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#o;
    while (!signal.aborted) {
      this.#nextRestartAt = null;
      this.#set("starting");
      const startedAt = clock.now();
      let why: string;
      try {
        this.#child = this.#o.runner.spawn(this.#o.cmd, this.#o.args, {
          onStderrLine: this.#o.onStderrLine,
        });
        this.#set("running");
        const st = await this.#child.status;
        if (signal.aborted) break;
        const tail = this.#child.stderrTail().trim().split("\n").slice(-3).join(" | ");
        why = `exited with ${st.signal ? `signal ${st.signal}` : `code ${st.code}`}` +
          (tail ? `: ${tail}` : "");
      } catch (e) {
        why = `could not start ${this.#o.cmd}: ${e instanceof Error ? e.message : e}`;
      }
      this.#child = null;
      this.#lastError = why;
      this.#failures = clock.now() - startedAt >= this.#policy.stableMs ? 1 : this.#failures + 1;
      if (this.#failures > this.#policy.maxFailures) {
        this.#set("failed");
        return;
      }
      const delay = backoffDelay(this.#policy, this.#failures);
      this.#nextRestartAt = clock.now() + delay;
      this.#set("backoff");
      await clock.sleep(delay, signal);
      if (signal.aborted) break;
      this.#restarts++;
    }
    this.#nextRestartAt = null;
  }

  /** Sends a signal to the running child (e.g. SIGHUP to reload); false when none runs. */
  signal(sig: Deno.Signal): boolean {
    if (!this.#child || this.#state !== "running") return false;
    this.#child.kill(sig);
    return true;
  }

  /** Stops supervising, terminates the child and waits for it to exit. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    const child = this.#child;
    if (child) {
      child.kill("SIGTERM");
      const gone = new AbortController();
      const exited = await Promise.race([
        child.status.then(() => true),
        this.#o.clock.sleep(this.#o.killAfterMs ?? 5000, gone.signal).then(() => false),
      ]);
      gone.abort();
      if (!exited) {
        child.kill("SIGKILL");
        await child.status;
      }
    }
    await this.#loop;
    this.#loop = null;
    this.#child = null;
    this.#nextRestartAt = null;
    this.#set("stopped");
  }

  /** Stops and starts again (used when dnsmasq.conf itself changed). */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }
}
