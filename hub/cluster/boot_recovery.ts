/**
 * Boot recovery: supervises nodes that were just switched on. When a boot stalls (a stage
 * missed its deadline, see `hub/boot/timeline.ts`), the node is power-cycled — each cycle a
 * job of its own — up to `retries` times with a doubling backoff; a node that still stalls is
 * quarantined, naming the stage where it stopped. On by default inside `bootstrap`; opt-in
 * for manual power (`"supervise": true`).
 */
import type { BootStage } from "../../shared/boot_schemas.ts";
import type { Clock } from "../../shared/clock.ts";
import type { BootMonitor } from "../boot/boot_monitor.ts";
import type { EventLog } from "../events/event_log.ts";
import type { JobRunner } from "../jobs/job_runner.ts";
import type { Job } from "../../shared/schemas.ts";
import type { PowerControl, PowerJobResult } from "./power_control.ts";
import type { QuarantineList } from "./quarantine.ts";

/** How hard recovery tries. */
export interface RecoveryPolicy {
  /** Power cycles before a stalled node is quarantined (K). */
  retries: number;
  /** Wait before the first cycle, ms; doubles for each further one. */
  backoffMs: number;
}

/** Default: two cycles, the first after 5 s, the second after 10 s. */
export const DEFAULT_RECOVERY: RecoveryPolicy = { retries: 2, backoffMs: 5_000 };

/** The recovery policy at time scale `scale`: `retries` cycles (default 2), the backoff scaled. */
export function scaledRecovery(scale: number, retries?: number): RecoveryPolicy {
  return {
    retries: retries ?? DEFAULT_RECOVERY.retries,
    backoffMs: Math.max(1, Math.round(DEFAULT_RECOVERY.backoffMs * scale)),
  };
}

/** Wait before recovery cycle `n` (1-based). */
export function recoveryBackoff(p: RecoveryPolicy, n: number): number {
  return p.backoffMs * 2 ** Math.max(0, n - 1);
}

/** How one supervised node ended. */
export interface RecoveryResult {
  node: number;
  /** running; quarantined (with the stage); off (switched off meanwhile); cancelled. */
  outcome: "running" | "quarantined" | "off" | "cancelled";
  /** Boot attempts made (1 + power cycles). */
  attempts: number;
  /** Where a quarantined node stopped. */
  stage?: BootStage;
  /** The recovery cycles' job ids. */
  jobs: string[];
}

/** What recovery needs. */
export interface BootRecoveryDeps {
  monitor: BootMonitor;
  power: PowerControl;
  jobs: JobRunner;
  quarantine: QuarantineList;
  events: EventLog;
  clock: Clock;
}

/** Watches boots and acts on stalls. */
export class BootRecovery {
  readonly #d: BootRecoveryDeps;
  readonly policy: RecoveryPolicy;
  /** Ends supervision started outside a job (manual power) when the hub stops. */
  readonly #stop = new AbortController();

  constructor(deps: BootRecoveryDeps, policy: RecoveryPolicy = DEFAULT_RECOVERY) {
    this.#d = deps;
    this.policy = policy;
  }

  /** Supervises the boots of `nodes` (already switched on) until each runs or is quarantined. */
  supervise(nodes: readonly number[], signal?: AbortSignal): Promise<RecoveryResult[]> {
    return Promise.all(nodes.map((n) => this.#one(n, signal)));
  }

  /**
   * Manual power, opt-in: once power job `job` finished, supervises the nodes it switched on.
   * Runs in the background; its power cycles are jobs of their own.
   */
  superviseAfter(job: Job): void {
    this.#d.jobs.wait(job.id).then((done) => {
      const r = done.result as PowerJobResult | undefined;
      const on = (r?.results ?? []).filter((x) => x.ok && x.actual === "on").map((x) => x.node);
      if (on.length > 0 && !this.#stop.signal.aborted) return this.supervise(on, this.#stop.signal);
    }).catch(() => {}); // a failed job switched nothing to supervise
  }

  /** Stops background supervision (hub shutdown). */
  close(): void {
    this.#stop.abort();
  }

  async #one(node: number, signal?: AbortSignal): Promise<RecoveryResult> {
    const { monitor, power, jobs, quarantine, events, clock } = this.#d;
    const { retries } = this.policy;
    const cycles: string[] = [];
    for (let attempt = 1;; attempt++) {
      const out = await monitor.watch(node, signal);
      const done = (outcome: RecoveryResult["outcome"], stage?: BootStage) => ({
        node,
        outcome,
        attempts: attempt,
        jobs: cycles,
        ...(stage ? { stage } : {}),
      });
      if (signal?.aborted) return done("cancelled");
      if (out.kind === "running") return done("running");
      if (out.kind === "off") return done("off");
      const stage = out.timeline.stalledAt ?? "power_on";
      if (attempt > retries) {
        const reason = `boot stalled before ${stage.replace("_", " ")} on ${attempt} attempt${
          attempt > 1 ? "s" : ""
        }`;
        quarantine.set(node, { stage, reason, at: Math.round(clock.now()), attempts: attempt });
        return done("quarantined", stage);
      }
      const wait = recoveryBackoff(this.policy, attempt);
      events.emit(
        "boot_recovery",
        node,
        `node ${node} stalled before ${
          stage.replace("_", " ")
        }: power cycle ${attempt} of ${retries} in ${(wait / 1000).toFixed(1)} s`,
        { stage, cycle: attempt, of: retries, waitMs: wait },
      );
      await clock.sleep(wait, signal);
      if (signal?.aborted) return done("cancelled");
      monitor.expectAttempt(node, attempt + 1);
      const job = power.recoveryCycle(
        node,
        `boot recovery: cycle node ${node} (${attempt} of ${retries}; stalled before ${stage})`,
      );
      cycles.push(job.id);
      await jobs.wait(job.id);
    }
  }
}
