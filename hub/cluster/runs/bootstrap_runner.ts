/**
 * Runs the staged bootstrap (see `bootstrap.ts`) as a job, storing its state after every
 * stage. A hub that restarts mid-bootstrap reports where it stopped (event + failed job);
 * the stored desired power states make the restore job finish what was switched.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import type { BootstrapPlan, Job } from "../../../shared/schemas.ts";
import { type JobHandle, throwIfCancelled } from "../../jobs/job_runner.ts";
import { watchRunning } from "./active_check.ts";
import {
  advance,
  bootstrapScope,
  type BootstrapState,
  type BootstrapTimings,
  expectedTimeline,
  initialBootstrap,
  isFinal,
  nodesToBoot,
  selfTestMs,
  stageLabel,
  WORKING_STAGES,
} from "./bootstrap.ts";
import { runSelfTest } from "./self_check.ts";
import type { BootRecovery, RecoveryResult } from "../boot_recovery.ts";
import type { QuarantineList } from "../quarantine.ts";

import type { RunServices } from "./run_services.ts";

const KEY = "bootstrap";

/** What the bootstrap needs. */
export interface BootstrapDeps extends RunServices {
  /**
   * Boot supervision (on by default in the hub): stalled boots are power-cycled and, failing
   * that, quarantined. Without it the bootstrap only waits `heartbeatTimeoutMs`.
   */
  recovery?: BootRecovery;
  /** Quarantined nodes are left out of a bootstrap until cleared. */
  quarantine?: QuarantineList;
}

/** Drives bootstraps for one hub. */
export class BootstrapRunner {
  readonly #d: BootstrapDeps;
  readonly timings: BootstrapTimings;

  constructor(deps: BootstrapDeps, timings: BootstrapTimings) {
    this.#d = deps;
    this.timings = timings;
  }

  /** The last stored bootstrap state, if any. */
  state(): BootstrapState | null {
    return this.#d.store.getSetting<BootstrapState>(KEY) ?? null;
  }

  /** At hub start: a stored bootstrap that never finished is reported as interrupted. */
  recoverInterrupted(): BootstrapState | null {
    const s = this.state();
    if (!s || isFinal(s.stage)) return null;
    const { events, clock, store } = this.#d;
    events.emit(
      "fault",
      null,
      `bootstrap was interrupted in stage ${s.stage} by a hub restart; nodes keep their stored desired state; run it again with: cm bootstrap`,
      { stage: s.stage, job: s.jobId },
    );
    const failed: BootstrapState = { ...s, stage: "failed", stageAt: Math.round(clock.now()) };
    store.setSetting(KEY, failed);
    return failed;
  }

  /**
   * What a bootstrap of `requested` would touch: its set less quarantined nodes, and the bays
   * it switches off (only its set, unless `othersOff`). Refuses what `start` would refuse.
   */
  plan(requested: number[], othersOff = false): BootstrapPlan {
    const { map, quarantine } = this.#d;
    if (requested.length === 0) {
      throw new ClusterError("invalid_range", "no nodes to bootstrap: every bay is disabled");
    }
    quarantine?.assertSomeLeft(requested);
    const { run, skipped } = quarantine?.split(requested) ?? { run: requested, skipped: [] };
    const scope = bootstrapScope(
      map.bays.map((b) => b.id),
      run,
      skipped,
      othersOff,
      quarantine?.nodes() ?? [],
    );
    return { ...scope, timeline: expectedTimeline(this.timings, scope.nodes.length) };
  }

  /**
   * Starts a bootstrap of `nodes` (default: the enabled bays), less quarantined ones. It
   * switches only its own set; `othersOff` also switches every other bay off first.
   */
  start(requested: number[], othersOff = false): Job {
    const { power, clock, tracker } = this.#d;
    power.assertIdle();
    const scope = this.plan(requested, othersOff);
    const { nodes, skippedQuarantined: skipped } = scope;
    const steps = WORKING_STAGES.length;
    // The bootstrap owns every bay it switches until it ends.
    return power.startOwned(
      "bootstrap",
      scope.switchedOff,
      formatNodeSet(nodes) + (othersOff ? " (others off)" : ""),
      steps,
      async (h) => {
        let s = initialBootstrap(nodes, h.id, Math.round(clock.now()), scope.switchedOff);
        const recovery: RecoveryResult[] = [];
        s = await this.#run(s, h, recovery);
        const running = nodes.filter((n) => tracker.get(n).lifecycle === "running");
        const quarantined = recovery.filter((r) => r.outcome === "quarantined");
        const recovered = recovery.filter((r) => r.outcome === "running" && r.attempts > 1);
        const silent = s.silent.filter((n) => !quarantined.some((q) => q.node === n));
        const summary = `bootstrap ${s.stage}: ${running.length}/${nodes.length} nodes running` +
          (s.failedSelfTest.length
            ? `; failed self test: ${formatNodeSet(s.failedSelfTest)}`
            : "") +
          (recovered.length
            ? `; recovered by power cycle: ${formatNodeSet(recovered.map((r) => r.node))}`
            : "") +
          (quarantined.length
            ? `; quarantined: ${quarantined.map((q) => `${q.node} (${q.stage})`).join(", ")}`
            : "") +
          (silent.length ? `; no heartbeat: ${formatNodeSet(silent)}` : "") +
          (skipped.length ? `; skipped (quarantined before): ${formatNodeSet(skipped)}` : "");
        const lines = recovery.filter((r) => r.outcome !== "running" || r.attempts > 1).map((r) =>
          `node ${String(r.node).padStart(2)}: ${r.outcome}${
            r.stage ? ` at ${r.stage}` : ""
          } after ${r.attempts} attempt${r.attempts > 1 ? "s" : ""}${
            r.jobs.length ? ` (cycle jobs ${r.jobs.join(", ")})` : ""
          }`
        );
        const report = { ...s, summary, lines, recovery, skippedQuarantined: skipped };
        // Degraded and failed both fail the job (non-zero exit for `cm bootstrap`), with the report.
        if (s.stage === "failed") throw new ClusterError("hardware_fault", summary, report);
        if (s.stage === "degraded") throw new ClusterError("not_ready", summary, report);
        return report;
      },
    );
  }

  #save(s: BootstrapState, h: JobHandle): void {
    this.#d.store.setSetting(KEY, s);
    this.#tell(s, h, stageLabel(s.stage));
  }

  /** Progress: the stage number, what it is doing, and when its wait ends (if it waits). */
  #tell(s: BootstrapState, h: JobHandle, note: string, deadlineAt?: number): void {
    const index = WORKING_STAGES.indexOf(s.stage);
    const done = index === -1 ? WORKING_STAGES.length : index;
    h.progress(done, WORKING_STAGES.length, note, deadlineAt);
  }

  async #run(
    start: BootstrapState,
    h: JobHandle,
    recovery: RecoveryResult[],
  ): Promise<BootstrapState> {
    const { clock, map, tracker, events, sequencer, power } = this.#d;
    const t = this.timings;
    let s = start;
    const off = s.switchedOff ?? s.nodes;
    this.#save(s, h);
    const tell = (note: string, waitMs?: number) =>
      this.#tell(
        s,
        h,
        `${stageLabel(s.stage)}: ${note}`,
        waitMs === undefined ? undefined : clock.now() + waitMs,
      );
    const failed = () => s.stage === "failed";
    const step = (o: Parameters<typeof advance>[1]) => {
      s = advance(s, o, Math.round(clock.now()));
      this.#save(s, h);
    };
    // A cancel request stops the bootstrap between stages; it is stored as failed, so a
    // restart does not report it as interrupted. Nodes keep their stored desired state.
    const checkCancel = () => {
      if (!h.signal.aborted) return;
      const stopped = s.stage;
      s = { ...s, stage: "failed", stageAt: Math.round(clock.now()) };
      this.#d.store.setSetting(KEY, s);
      throwIfCancelled(h.signal, `the bootstrap (in stage ${stageLabel(stopped)})`, s);
    };
    // 1. Fabric: the switch boots; the control plane waits for it.
    tell("waiting for the switch", t.fabricMs);
    await clock.sleep(t.fabricMs, h.signal);
    checkCancel();
    step({ stage: "fabric", ok: true });
    // 2. Control plane up: the set (or, with othersOff, every bay) off; nothing else touched.
    const count = map.bays.length;
    tell(
      off.length === count
        ? `switching all ${count} nodes off`
        : `switching ${formatNodeSet(off)} off (${count - off.length} other bays untouched)`,
    );
    const switched = await power.applyPower(off, "off");
    tell(
      `${off.length === count ? "all nodes" : formatNodeSet(off)} off, settling`,
      t.controlPlaneMs,
    );
    await clock.sleep(t.controlPlaneMs, h.signal);
    checkCancel();
    step({ stage: "control_plane", ok: switched.every((r) => r.ok) });
    if (failed()) return s;
    // 3. Self test of the nodes to boot (it switches off what it switched on if cancelled).
    const testEnds = clock.now() + selfTestMs(t.selfTest, s.nodes.length);
    tell(`${s.nodes.length} nodes`, testEnds - clock.now());
    const report = await runSelfTest(s.nodes, { map, sequencer, clock }, t.selfTest, {
      id: h.id,
      signal: h.signal,
      progress: (done, total, message) =>
        tell(`${done}/${total ?? 0} steps, ${message ?? ""}`, Math.max(0, testEnds - clock.now())),
    }).catch((e) => {
      checkCancel();
      throw e;
    });
    step({
      stage: "self_test",
      failedNodes: report.nodes.filter((n) => !n.pass).map((n) => n.node),
    });
    if (failed()) return s;
    // 4. Boot every node that passed; 5. wait for their heartbeats.
    const boot = nodesToBoot(s);
    tell(`${boot.length} nodes to switch on`, t.bootGapMs);
    await clock.sleep(t.bootGapMs, h.signal);
    checkCancel();
    let heardUntil = 0;
    // Supervised boots end when each runs or is quarantined: no one deadline to count down.
    const heard = (count: number) =>
      this.#d.recovery
        ? tell(`${count}/${boot.length} up (boots supervised)`)
        : tell(`${count}/${boot.length} up`, Math.max(0, heardUntil - clock.now()));
    const watch = watchRunning(boot, {
      events,
      clock,
      isRunning: (n) => tracker.get(n).lifecycle === "running",
    }, (_node, count) => {
      if (s.stage === "wait_heartbeats") heard(count);
    });
    try {
      tell(`switching ${boot.length} nodes on`);
      const results = await power.applyPower(boot, "on");
      step({ stage: "boot", ok: results.some((r) => r.ok) });
      if (failed()) return s;
      if (this.#d.recovery) {
        // Each boot is supervised: a stall is power-cycled, then quarantined.
        heard(watch.upAt.size);
        const on = results.filter((r) => r.ok).map((r) => r.node);
        recovery.push(...await this.#d.recovery.supervise(on, h.signal));
      } else {
        heardUntil = clock.now() + t.heartbeatTimeoutMs;
        heard(watch.upAt.size);
        await watch.until(heardUntil, h.signal);
      }
    } finally {
      watch.stop();
    }
    checkCancel();
    const up = (n: number) =>
      this.#d.recovery
        ? recovery.some((r) => r.node === n && r.outcome === "running")
        : watch.upAt.has(n);
    step({ stage: "wait_heartbeats", silentNodes: boot.filter((n) => !up(n)) });
    return s;
  }
}
