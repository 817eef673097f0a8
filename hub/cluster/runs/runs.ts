/**
 * Module-wide runs started as jobs: `testall` (the control-plane self test) and
 * `activetest` (power on, time each agent's first heartbeat). Each owns its nodes until it
 * ends; only one module-wide run at a time.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import type { Job } from "../../../shared/schemas.ts";
import { runActiveTest } from "./active_check.ts";
import type { RunServices } from "./run_services.ts";
import { runSelfTest, type SelfTestOptions } from "./self_check.ts";

/** What the runs need. */
export interface RunsDeps extends RunServices {
  /** Self-test timing. */
  selfTest: SelfTestOptions;
}

/** Starts self tests and active tests. */
export class Runs {
  readonly #d: RunsDeps;

  constructor(deps: RunsDeps) {
    this.#d = deps;
  }

  /** `testall`: the control-plane self test over `ids`; nodes are left off. */
  testall(ids: readonly number[]): Job {
    const { power, store, map, sequencer, clock, selfTest, tracker } = this.#d;
    power.assertIdle();
    power.assertFree(ids);
    for (const id of ids) {
      store.updateNode(id, { desiredPower: "off" });
      tracker.recordChanged(id);
    }
    return power.startOwned(
      "testall",
      ids,
      formatNodeSet(ids),
      ids.length * 2,
      async (h) => {
        const report = await runSelfTest(ids, { map, sequencer, clock }, selfTest, h);
        if (!report.pass) throw new ClusterError("hardware_fault", report.summary, report);
        return report;
      },
    );
  }

  /** `activetest`: power `ids` on and time each agent's first heartbeat. */
  activetest(requested: readonly number[], timeoutMs: number): Job {
    const { power, events, clock, tracker } = this.#d;
    power.assertIdle();
    // Like a bulk switch-on, it leaves quarantined nodes alone (one named alone is tested).
    const { ids, skipped } = power.select(requested, "on");
    return power.startOwned(
      "activetest",
      ids,
      formatNodeSet(ids) +
        (skipped.length ? ` (skipping quarantined ${formatNodeSet(skipped)})` : ""),
      ids.length,
      async (h) => {
        const report = await runActiveTest(
          ids,
          {
            events,
            clock,
            isRunning: (n) => tracker.get(n).lifecycle === "running",
            powerOn: (nodes, onResult) => power.applyPower(nodes, "on", onResult),
          },
          timeoutMs,
          h,
        );
        if (!report.pass) throw new ClusterError("not_ready", report.summary, report);
        return report;
      },
    );
  }
}
