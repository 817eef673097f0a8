/**
 * Power sequencing: one operation at a time per node, read-back after every change,
 * staggered bulk switching (inrush limit per bus), and `cycle` as off, wait, on.
 */
import type { Clock } from "../../shared/clock.ts";
import type { PowerAction, PowerState } from "../../shared/schemas.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import type { EventLog } from "../events/event_log.ts";
import type { PowerSwitch } from "../power/power_switch.ts";
import type { NodeTracker } from "./node_tracker.ts";
import { staggerSteps } from "./stagger.ts";

/** Timing and inrush settings. */
export interface SequencerOptions {
  /** Max nodes switched on per step on one bus. */
  perBus: number;
  /** Max nodes switched on per step on the whole module. */
  perStep: number;
  /** Time between steps, ms. */
  stepMs: number;
  /** Off time of a power cycle, ms. */
  cycleOffMs: number;
}

/** Default inrush limits: 2 nodes per bus per 100 ms step. */
export const DEFAULT_SEQUENCER_OPTIONS: SequencerOptions = {
  perBus: 2,
  perStep: 12,
  stepMs: 100,
  cycleOffMs: 2000,
};

/** Outcome for one node. */
export interface NodePowerResult {
  node: number;
  requested: PowerAction;
  actual: PowerState;
  ok: boolean;
  /** Set when the rail did not follow or the driver failed. */
  error?: string;
  ms: number;
}

/** Serialises and staggers power operations over a PowerSwitch. */
export class PowerSequencer {
  readonly #switch: PowerSwitch;
  readonly #map: NodeMap;
  readonly #tracker: NodeTracker;
  readonly #events: EventLog;
  readonly #clock: Clock;
  readonly opts: SequencerOptions;
  readonly #locks = new Map<number, Promise<unknown>>();

  constructor(
    sw: PowerSwitch,
    map: NodeMap,
    tracker: NodeTracker,
    events: EventLog,
    clock: Clock,
    opts: Partial<SequencerOptions> = {},
  ) {
    this.#switch = sw;
    this.#map = map;
    this.#tracker = tracker;
    this.#events = events;
    this.#clock = clock;
    this.opts = { ...DEFAULT_SEQUENCER_OPTIONS, ...opts };
  }

  /** Runs `fn` after every earlier operation on `node` has finished. */
  #withLock<T>(node: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(node) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(node, tail);
    tail.then(() => {
      if (this.#locks.get(node) === tail) this.#locks.delete(node);
    });
    return run;
  }

  /** Switches one rail and reads it back; a mismatch or driver error is a fault. */
  async #switchRail(
    node: number,
    state: PowerState,
  ): Promise<{ actual: PowerState; error?: string }> {
    const before = this.#tracker.get(node).actual;
    let actual: PowerState = before;
    let error: string | undefined;
    try {
      await this.#switch.set(node, state);
      actual = await this.#switch.read(node);
      if (actual !== state) {
        error = `node ${node} power rail reads ${actual} after switching it ${state}`;
      }
    } catch (e) {
      error = `node ${node}: ${e instanceof Error ? e.message : String(e)}`;
      try {
        actual = await this.#switch.read(node);
      } catch { /* keep the last known state */ }
    }
    if (error) {
      this.#events.emit("fault", node, error, { requested: state, actual });
    } else if (actual !== before) {
      this.#events.emit("power_changed", node, `node ${node} power ${actual}`, {
        from: before,
        to: actual,
      });
    }
    return { actual, error };
  }

  /** Applies `action` to one node, serialised with other operations on it. */
  apply(node: number, action: PowerAction): Promise<NodePowerResult> {
    return this.#withLock(node, async () => {
      const started = this.#clock.now();
      this.#tracker.beginOperation(node);
      let r = await this.#switchRail(node, action === "cycle" ? "off" : action);
      if (action === "cycle" && !r.error) {
        this.#tracker.endOperation(node, r.actual, null);
        this.#tracker.beginOperation(node);
        await this.#clock.sleep(this.opts.cycleOffMs);
        r = await this.#switchRail(node, "on");
      }
      this.#tracker.endOperation(node, r.actual, r.error ?? null);
      return {
        node,
        requested: action,
        actual: r.actual,
        ok: !r.error,
        ...(r.error ? { error: r.error } : {}),
        ms: Math.round(this.#clock.now() - started),
      };
    });
  }

  /**
   * Applies `action` to many nodes. Switching on (and the on half of a cycle) is staggered
   * per the inrush limits; off is issued at once. `onResult` sees each node as it finishes.
   */
  async applyMany(
    nodes: readonly number[],
    action: PowerAction,
    onResult: (r: NodePowerResult) => void = () => {},
  ): Promise<NodePowerResult[]> {
    const run = async (node: number) => {
      const r = await this.apply(node, action);
      onResult(r);
      return r;
    };
    if (action === "off") return Promise.all(nodes.map(run));
    const steps = staggerSteps(
      nodes,
      (n) => this.#map.bays[n - 1].bus,
      this.opts.perBus,
      this.opts.perStep,
    );
    const start = this.#clock.now();
    const pending: Promise<NodePowerResult>[] = [];
    for (let k = 0; k < steps.length; k++) {
      if (k > 0) await this.#clock.sleepUntil(start + k * this.opts.stepMs);
      for (const node of steps[k]) pending.push(run(node));
    }
    const results = await Promise.all(pending);
    return results.sort((a, b) => a.node - b.node);
  }
}
