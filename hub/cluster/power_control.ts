/**
 * Power and ownership: switching nodes (storing the desired state first, so a restart
 * restores it), power jobs, and which nodes a module-wide job is driving. A node owned by a
 * job refuses power commands (409) rather than being undone by them or undoing the job.
 */
import { ClusterError } from "../../shared/errors.ts";
import { bayAt, nodeIds, type NodeMap } from "../../shared/node_map.ts";
import { formatNodeSet } from "../../shared/range.ts";
import type { Job, PowerAction, PowerPlan } from "../../shared/schemas.ts";
import { planWindows } from "./inrush.ts";
import type { EventLog } from "../events/event_log.ts";
import type { JobRunner, StartOptions } from "../jobs/job_runner.ts";
import type { PowerSwitch } from "../power/power_switch.ts";
import type { Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";
import type { NodePowerResult, PowerSequencer } from "./power_sequencer.ts";

/** What power control needs. */
export interface PowerControlDeps {
  map: NodeMap;
  store: Store;
  events: EventLog;
  power: PowerSwitch;
  tracker: NodeTracker;
  sequencer: PowerSequencer;
  jobs: JobRunner;
}

/** Job kinds that take over the whole module: only one runs at a time. */
const EXCLUSIVE = ["testall", "activetest", "bootstrap", "maclearn"] as const;

/** Result stored on a power job. */
export interface PowerJobResult {
  results: NodePowerResult[];
  failed: number[];
  /** Quarantined nodes a bulk switch-on left alone (`cm node clear N` lets them back). */
  skipped?: number[];
}

/** The work a job does, as JobRunner takes it. */
export type JobWork = Parameters<JobRunner["start"]>[3];

/** Switches nodes and keeps track of which job owns which node. */
export class PowerControl {
  readonly #map: NodeMap;
  readonly #store: Store;
  readonly #events: EventLog;
  readonly #power: PowerSwitch;
  readonly #tracker: NodeTracker;
  readonly #sequencer: PowerSequencer;
  readonly #jobs: JobRunner;
  /** Nodes a module-wide job (self test, active test, bootstrap, restore) is driving. */
  readonly #owner = new Map<number, Job>();
  /** Set once start() has read every rail: until then nothing may switch a rail. */
  #started = false;

  constructor(deps: PowerControlDeps) {
    this.#map = deps.map;
    this.#store = deps.store;
    this.#events = deps.events;
    this.#power = deps.power;
    this.#tracker = deps.tracker;
    this.#sequencer = deps.sequencer;
    this.#jobs = deps.jobs;
  }

  /**
   * Reads every rail, fails jobs a previous process left running, and restores the desired
   * power state that was stored before the restart. Returns the restore job, if any. Until it
   * has read the rails, power commands and runs are refused (`not_ready`, 503): the hub
   * listens before it starts, and a job switching a rail meanwhile would be seen as drift.
   */
  async start(): Promise<Job | null> {
    const nodeCount = this.#map.bays.length;
    for (const bay of this.#map.bays) {
      this.#tracker.seed(bay.id, await this.#power.read(bay.id));
    }
    this.#jobs.recoverInterrupted();
    const records = this.#store.nodes(nodeIds(this.#map));
    const drift = records.filter((r) => this.#tracker.get(r.id).actual !== r.desiredPower);
    this.#events.emit("hub_started", null, `hub started with ${nodeCount} nodes`, {
      driver: this.#power.name,
      restoring: drift.map((r) => r.id),
    });
    if (drift.length === 0) {
      this.#started = true;
      return null;
    }
    const on = drift.filter((r) => r.desiredPower === "on").map((r) => r.id);
    const off = drift.filter((r) => r.desiredPower === "off").map((r) => r.id);
    // Only the halves that switch something: "(on 2-4,40)", not "(on 2-4,40, off -)".
    const switched = [["on", on], ["off", off]] as const;
    const what = switched.filter(([, ids]) => ids.length)
      .map(([state, ids]) => `${state} ${formatNodeSet(ids)}`).join(", ");
    // (owned before anything else may start: a command for these bays now gets a 409)
    const restore = this.#own(
      "power",
      drift.map((r) => r.id),
      `restore desired state (${what})`,
      drift.length,
      async (h) => {
        const results: NodePowerResult[] = [];
        const track = (r: NodePowerResult) => {
          results.push(r);
          h.progress(results.length);
        };
        await this.#sequencer.applyMany(off, "off", track);
        await this.#sequencer.applyMany(on, "on", track);
        return summarise(results);
      },
      { evenIfStoreFull: true },
    );
    this.#started = true;
    return restore;
  }

  /**
   * Stores `action`'s desired state for `ids` (so a restart restores it), then switches
   * them through the sequencer; `onResult` sees each node as it finishes.
   */
  applyPower(
    ids: readonly number[],
    action: PowerAction,
    onResult?: (r: NodePowerResult) => void,
  ): Promise<NodePowerResult[]> {
    const desired = action === "off" ? "off" : "on";
    for (const id of ids) {
      this.#store.updateNode(id, { desiredPower: desired });
      this.#tracker.recordChanged(id);
    }
    return this.#sequencer.applyMany(ids, action, onResult);
  }

  /**
   * Starts a power job for `ids`. The job fails (with per-node results) if any rail faulted.
   * A bulk switch-on (more than one node) skips quarantined nodes; one node named alone is
   * switched, quarantined or not (an operator looking at it).
   */
  power(requested: readonly number[], action: PowerAction): Job {
    this.#assertStarted();
    const { ids, skipped } = this.select(requested, action);
    this.assertFree(ids);
    const what = `${action} ${formatNodeSet(ids)}` +
      (skipped.length ? ` (skipping quarantined ${formatNodeSet(skipped)})` : "");
    return this.#jobs.start("power", what, ids.length, async (h) => {
      let done = 0;
      const results = await this.applyPower(ids, action, (r) => {
        h.progress(++done, undefined, `node ${r.node} ${r.ok ? r.actual : `fault: ${r.error}`}`);
      });
      const summary = { ...summarise(results), ...(skipped.length ? { skipped } : {}) };
      if (summary.failed.length > 0) {
        throw new ClusterError(
          "hardware_fault",
          `${summary.failed.length} of ${ids.length} nodes did not switch ${
            action === "off" ? "off" : "on"
          }: ` +
            results.filter((r) => !r.ok).map((r) => r.error).join("; "),
          summary,
        );
      }
      return summary;
    });
  }

  /**
   * The nodes a power command (or a run that switches nodes on, like `activetest`) switches,
   * and the quarantined ones a bulk switch-on skips; 409 when every node is quarantined.
   */
  select(
    requested: readonly number[],
    action: PowerAction,
  ): { ids: number[]; skipped: number[] } {
    if (requested.length === 0) throw new ClusterError("invalid_range", "no nodes given");
    const q = (id: number) => this.#tracker.get(id).quarantine !== null;
    const bulkOn = requested.length > 1 && action !== "off";
    const skipped = bulkOn ? requested.filter(q) : [];
    const ids = requested.filter((id) => !skipped.includes(id));
    if (ids.length === 0) {
      throw new ClusterError(
        "conflict",
        `nodes ${formatNodeSet(skipped)} are quarantined; clear them with: cm node clear N`,
      );
    }
    return { ids, skipped };
  }

  /**
   * Dry run of {@link power}: which nodes would switch, and when, under the module's inrush
   * limits (the limiter's own decision, window by window, as if no other switching ran).
   * Nothing is switched and nothing is stored.
   */
  plan(requested: readonly number[], action: PowerAction): PowerPlan {
    const { ids, skipped } = this.select(requested, action);
    const limits = this.#sequencer.opts;
    // Like the sequencer: only rails that are off now go through the limiter (cycle: all).
    const on = action === "off"
      ? []
      : action === "cycle"
      ? ids
      : ids.filter((id) => this.#tracker.get(id).actual === "off");
    const offset = action === "cycle" ? limits.cycleOffMs : 0;
    const windows = planWindows(
      on.map((node) => ({ node, bus: bayAt(this.#map, node).bus })),
      limits,
    ).map((w) => ({
      atMs: w.atMs + offset,
      nodes: w.nodes,
      buses: [...new Set(w.nodes.map((n) => bayAt(this.#map, n).bus))].sort((a, b) => a - b),
    }));
    return {
      action,
      nodes: ids,
      skipped,
      limits: { perBus: limits.perBus, perStep: limits.perStep, stepMs: limits.stepMs },
      off: action === "on" ? [] : ids,
      windows,
    };
  }

  /**
   * A boot-recovery power cycle of `node`, recorded as a power job of its own. It acts for
   * whoever supervises the boot (a bootstrap that owns the node), so ownership is not checked.
   * Resolves when the cycle finished; the job fails if the rail did not follow.
   */
  recoveryCycle(node: number, summary: string): Job {
    return this.#jobs.start("power", summary, 1, async (h) => {
      const r = await this.#sequencer.apply(node, "cycle");
      h.progress(1, 1, `node ${node} ${r.ok ? "cycled" : `fault: ${r.error}`}`);
      if (!r.ok) {
        throw new ClusterError("hardware_fault", r.error ?? `node ${node} did not cycle`, r);
      }
      return summarise([r]);
    });
  }

  /**
   * Starts a job that drives `ids` on its own: until it ends, power commands for those
   * nodes are refused (409) rather than undone by the job or undoing it.
   */
  startOwned(
    kind: Job["kind"],
    ids: readonly number[],
    summary: string,
    total: number,
    work: JobWork,
    opts: StartOptions = {},
  ): Job {
    this.#assertStarted();
    return this.#own(kind, ids, summary, total, work, opts);
  }

  #own(
    kind: Job["kind"],
    ids: readonly number[],
    summary: string,
    total: number,
    work: JobWork,
    opts: StartOptions,
  ): Job {
    this.assertFree(ids);
    const job = this.#jobs.start(kind, summary, total, async (h) => {
      try {
        return await work(h);
      } finally {
        for (const id of ids) if (this.#owner.get(id)?.id === h.id) this.#owner.delete(id);
      }
    }, opts);
    for (const id of ids) this.#owner.set(id, job);
    return job;
  }

  /** Refuses (503) until start() has read the rails. */
  #assertStarted(): void {
    if (this.#started) return;
    throw new ClusterError(
      "not_ready",
      "the hub is starting: it is reading the power rails and restoring their stored state; try again in a few seconds",
    );
  }

  /** Refuses (409) when a job owns any of `ids`. */
  assertFree(ids: readonly number[]): void {
    const busy = ids.filter((id) => this.#owner.has(id));
    if (busy.length === 0) return;
    const job = this.#owner.get(busy[0])!;
    throw new ClusterError(
      "conflict",
      `node${busy.length > 1 ? "s" : ""} ${formatNodeSet(busy)} ${
        busy.length > 1 ? "are" : "is"
      } ` +
        `being driven by ${job.kind} job ${job.id}; wait for it (cm job ${job.id} --wait)`,
    );
  }

  /** Refuses to start a module-wide job while another one runs. */
  assertIdle(): void {
    for (const kind of EXCLUSIVE) {
      const running = this.#jobs.running(kind);
      if (running) {
        throw new ClusterError(
          "conflict",
          `a ${kind} is already running (job ${running.id}); wait for it: cm job ${running.id} --wait`,
        );
      }
    }
  }
}

function summarise(results: NodePowerResult[]): PowerJobResult {
  return { results, failed: results.filter((r) => !r.ok).map((r) => r.node) };
}
