/**
 * The simulated control plane: a module with a power rail per bay of its map that take a settle
 * time (through the Clock) to follow a command, and can be told to fail (a stuck rail), so the
 * hub's fault handling is exercised without hardware. Like every `PowerSwitch`, `set` checks
 * the rail after switching it and throws a `HardwareFault` when it did not follow.
 */
import type { Clock } from "../../shared/clock.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import type { PowerState } from "../../shared/schemas.ts";
import { HardwareFault } from "../../shared/pins/errors.ts";
import type { PowerSwitch } from "./power_switch.ts";

/** Options of the simulated module. */
export interface SimulatedModuleOptions {
  /** The module: one rail per bay. */
  map: NodeMap;
  clock: Clock;
  /** Time a rail takes to follow a command, ms (default 5). */
  settleMs?: number;
  /** Initial rail state per node (default all off). */
  initial?: (node: number) => PowerState;
}

/** A simulated module's rails, with fault injection for tests. */
export class SimulatedModule implements PowerSwitch {
  readonly name = "simulated";
  /** By node id. */
  readonly #rails: Map<number, PowerState>;
  readonly #clock: Clock;
  readonly #settleMs: number;
  /** Nodes whose rail ignores commands (stuck at its current level): `set` reports a fault. */
  readonly stuck = new Set<number>();
  /** Called after a rail changes: the virtual cluster starts/stops agents from here. */
  onRailChange?: (node: number, state: PowerState) => void;
  readonly #watchers = new Set<(node: number, state: PowerState) => void>();

  constructor(opts: SimulatedModuleOptions) {
    this.#clock = opts.clock;
    this.#settleMs = opts.settleMs ?? 5;
    this.#rails = new Map(opts.map.bays.map((b) => [b.id, opts.initial?.(b.id) ?? "off"]));
  }

  #check(node: number): void {
    if (!this.#rails.has(node)) {
      throw new HardwareFault(`simulated module has no node ${node}`);
    }
  }

  async set(node: number, state: PowerState): Promise<void> {
    this.#check(node);
    await this.#clock.sleep(this.#settleMs);
    const before = this.#rails.get(node)!;
    if (this.stuck.has(node)) {
      if (before === state) return;
      throw new HardwareFault(
        `node ${node} power rail reads ${before} after switching it ${state} (simulated stuck rail)`,
        { node, state, actual: before },
      );
    }
    this.#rails.set(node, state);
    if (before === state) return;
    this.onRailChange?.(node, state);
    for (const w of this.#watchers) w(node, state);
  }

  /** Calls `fn` after every rail change (besides `onRailChange`); returns the unsubscribe. */
  watchRails(fn: (node: number, state: PowerState) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  read(node: number): Promise<PowerState> {
    this.#check(node);
    return Promise.resolve(this.#rails.get(node)!);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
