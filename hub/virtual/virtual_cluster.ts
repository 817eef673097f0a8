/**
 * The virtual cluster: on the simulated module, a node whose rail goes on boots (after a
 * simulated boot delay) into a real node agent — the same code as on a Pi, with a simulated
 * GPIO line and its own identity — reporting to the hub over HTTP; a rail going off stops it.
 */
import { type Clock, realClock } from "../../shared/clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import type { NodeHealth, PowerState } from "../../shared/schemas.ts";
import {
  type AgentHandle,
  BAY_LED_GPIO,
  type Logger,
  silentLogger,
  startAgent,
} from "../../node-agent/mod.ts";
import type { SimulatedModule } from "../power/simulated_module.ts";

/** Options of the virtual cluster. */
export interface VirtualClusterOptions {
  sim: SimulatedModule;
  map: NodeMap;
  /** Hub base URL the agents report to, e.g. http://127.0.0.1:4242 */
  hubUrl: string;
  agentKey: string;
  /** Power-on to agent start, ms (a Pi takes ~30 s to netboot). */
  bootDelayMs: number;
  /** Heartbeat interval of the agents, ms (the hub's reply may change it). */
  intervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Synthetic but plausible health for virtual node `node` (temperatures differ per bay). */
export function virtualHealth(node: number, startedAt: number, clock: Clock): NodeHealth {
  const up = (clock.now() - startedAt) / 1000;
  return {
    uptimeSeconds: Math.round(up * 10) / 10,
    load1: Math.round((0.05 + 0.1 * Math.abs(Math.sin(up / 30 + node))) * 100) / 100,
    memTotalBytes: 1_000_000_000,
    memAvailableBytes: 800_000_000 - (node % 7) * 10_000_000,
    cpuTempCelsius: Math.round((42 + (node % 10) + 3 * Math.sin(up / 60)) * 10) / 10,
  };
}

/** Runs one in-process agent per powered bay of a simulated module. */
export class VirtualCluster {
  readonly #o: VirtualClusterOptions;
  readonly #clock: Clock;
  readonly #agents = new Map<number, AgentHandle>();
  readonly #booting = new Map<number, AbortController>();
  #closed = false;

  constructor(opts: VirtualClusterOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Starts following the module's rails (and boots nodes that are already on). */
  attach(): void {
    this.#o.sim.onRailChange = (node, state) => this.#onRail(node, state);
    for (const bay of this.#o.map.bays) {
      this.#o.sim.read(bay.id).then((s) => s === "on" && this.#onRail(bay.id, "on"));
    }
  }

  /** Agents running now, by node. */
  get agents(): ReadonlyMap<number, AgentHandle> {
    return this.#agents;
  }

  #onRail(node: number, state: PowerState): void {
    if (this.#closed) return;
    if (state === "on") {
      if (this.#booting.has(node) || this.#agents.has(node)) return;
      const ac = new AbortController();
      this.#booting.set(node, ac);
      this.#clock.sleep(this.#o.bootDelayMs, ac.signal).then(async () => {
        this.#booting.delete(node);
        if (ac.signal.aborted || this.#closed) return;
        await this.#boot(node);
      });
    } else {
      this.#booting.get(node)?.abort();
      this.#booting.delete(node);
      this.kill(node);
    }
  }

  async #boot(node: number): Promise<void> {
    const bay = this.#o.map.bays[node - 1];
    const startedAt = this.#clock.now();
    const agent = await startAgent({
      hub: this.#o.hubUrl,
      key: this.#o.agentKey,
      clock: this.#clock,
      line: new SimulatedGpioLine({ gpio: BAY_LED_GPIO, direction: "out", clock: this.#clock }),
      node,
      model: bay.expectedModel,
      hostname: bay.hostname,
      root: "/nonexistent-virtual-node",
      health: () => Promise.resolve(virtualHealth(node, startedAt, this.#clock)),
      intervalMs: this.#o.intervalMs,
      logger: this.#o.logger ?? silentLogger,
    });
    if (this.#closed || this.#agents.has(node)) {
      await agent.stop();
      return;
    }
    this.#agents.set(node, agent);
  }

  /** Stops node `node`'s agent as a crash would (its rail stays on). */
  kill(node: number): Promise<void> {
    const agent = this.#agents.get(node);
    this.#agents.delete(node);
    return agent ? agent.stop() : Promise.resolve();
  }

  /** Stops every agent and pending boot. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const ac of this.#booting.values()) ac.abort();
    this.#booting.clear();
    await Promise.all([...this.#agents.keys()].map((n) => this.kill(n)));
    this.#o.sim.onRailChange = undefined;
  }
}
