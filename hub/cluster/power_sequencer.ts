/**
 * Power sequencing: one operation at a time per node, read-back after every change,
 * staggered bulk switching (inrush limit per bus), and `cycle` as off, wait, on.
 */
import type { Clock } from "../../shared/clock.ts";
import type { PowerAction, PowerState } from "../../shared/schemas.ts";
import { bayAt, type NodeMap } from "../../shared/node_map.ts";
import type { EventLog } from "../events/event_log.ts";
import type { PowerSwitch } from "../power/power_switch.ts";
import type { NodeTracker } from "./node_tracker.ts";
import { KeyedMutex } from "../../shared/keyed_mutex.ts";
import { InrushLimiter } from "./inrush.ts";

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

/** Default inrush limits: 2 nodes per bus and 12 per module in any 100 ms. */
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
  readonly #locks = new KeyedMutex<number>();
  readonly #inrush: InrushLimiter;

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
    this.#inrush = new InrushLimiter(
      { perBus: this.opts.perBus, perStep: this.opts.perStep, stepMs: this.opts.stepMs },
      clock,
    );
  }

  /**
   * Switches one rail. The driver verifies it (the `PowerSwitch` contract): a rail that does
   * not follow is a `HardwareFault` from `set`, reported here as a fault with the state the
   * rail is read to be in.
   */
  async #switchRail(
    node: number,
    state: PowerState,
    selfTest: boolean,
  ): Promise<{ actual: PowerState; error?: string }> {
    const before = this.#tracker.get(node).actual;
    let actual: PowerState = before;
    let error: string | undefined;
    try {
      let switched = () => {};
      if (state === "on" && before === "off") {
        switched = await this.#inrush.acquire(bayAt(this.#map, node).bus);
      }
      try {
        await this.#switch.set(node, state);
      } finally {
        switched();
      }
      actual = state;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      error = why.startsWith(`node ${node}:`) || why.startsWith(`node ${node} `)
        ? why
        : `node ${node}: ${why}`;
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
        // A self test's rail check is no boot: boot supervision leaves it alone.
        ...(selfTest ? { selfTest: true } : {}),
      });
    }
    return { actual, error };
  }

  /**
   * Applies `action` to one node, serialised with other operations on it. `selfTest`: the
   * self test switching the rail to check it (its `power_changed` events say so).
   */
  apply(node: number, action: PowerAction, selfTest = false): Promise<NodePowerResult> {
    return this.#locks.run(node, async () => {
      const started = this.#clock.now();
      this.#tracker.beginOperation(node);
      let r = await this.#switchRail(node, action === "cycle" ? "off" : action, selfTest);
      if (action === "cycle" && !r.error) {
        this.#tracker.endOperation(node, r.actual, null);
        this.#tracker.beginOperation(node);
        await this.#clock.sleep(this.opts.cycleOffMs);
        r = await this.#switchRail(node, "on", selfTest);
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
   * Applies `action` to many nodes. Every node's turn is claimed at once (so a later command
   * for one of them waits for this one); switching on is paced by the module-wide inrush
   * limiter. `onResult` sees each node as it finishes. Results are in node order.
   */
  async applyMany(
    nodes: readonly number[],
    action: PowerAction,
    onResult: (r: NodePowerResult) => void = () => {},
  ): Promise<NodePowerResult[]> {
    const results = await Promise.all(nodes.map((node) =>
      this.apply(node, action).then((r) => {
        onResult(r);
        return r;
      })
    ));
    return results.sort((a, b) => a.node - b.node);
  }
}
