/**
 * The virtual cluster: on the simulated module, a node whose rail goes on boots (after a
 * simulated boot delay) into a real node agent — the same code as on a Pi, with a simulated
 * GPIO line and its own identity — reporting to the hub over HTTP; a rail going off stops it.
 * On the way a LAN bay "netboots": the lines dnsmasq would log for its DHCP exchange and TFTP
 * transfers go to `onLogLine`, the same pipeline the real dnsmasq's log feeds. Boot faults
 * can be injected per bay (no lease, lease but no heartbeat; for a number of boots).
 */
import { type Clock, realClock } from "../../shared/clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";
import { bayAt, type NodeMap } from "../../shared/node_map.ts";
import type { NodeHealth, PowerState } from "../../shared/schemas.ts";
import {
  type AgentHandle,
  BAY_LED_GPIO,
  type Logger,
  silentLogger,
  startAgent,
} from "../../node-agent/mod.ts";
import type { SimulatedModule } from "../power/simulated_module.ts";
import { syntheticDnsmasqLines } from "../boot/dnsmasq_log.ts";
import { backgroundFailed } from "../process_faults.ts";

/**
 * A boot fault of one virtual bay: `no_lease` (DHCP discovers get no offer), `no_heartbeat`
 * (DHCP and TFTP go through, the agent never starts). `boots` limits it to the first so many
 * boots (a transient fault); default every boot.
 */
export interface VirtualBootFault {
  kind: "no_lease" | "no_heartbeat";
  boots?: number;
}

/** The MAC a virtual bay netboots with (locally administered: 02:…, the node in the last byte). */
export function virtualMac(node: number): string {
  return `02:42:0a:2a:00:${node.toString(16).padStart(2, "0")}`;
}

/** The node of a {@link virtualMac}, if it is one. */
export function virtualNodeForMac(mac: string): number | undefined {
  const m = /^02:42:0a:2a:00:([0-9a-f]{2})$/.exec(mac);
  return m ? parseInt(m[1], 16) : undefined;
}

/** The boot files a virtual Pi fetches over TFTP, in order. */
export const VIRTUAL_BOOT_FILES = [
  "bootcode.bin",
  "start.elf",
  "fixup.dat",
  "config.txt",
  "cmdline.txt",
  "kernel8.img",
];

/** Options of the virtual cluster. */
export interface VirtualClusterOptions {
  sim: SimulatedModule;
  map: NodeMap;
  /** Hub base URL the agents report to, e.g. http://127.0.0.1:4242 */
  hubUrl: string;
  /** Node N's own agent key (the hub's `agentKeys.keyFor`). */
  agentKeyFor: (node: number) => string;
  /** Power-on to agent start, ms (a Pi takes ~30 s to netboot). */
  bootDelayMs: number;
  /** Heartbeat interval of the agents, ms (the hub's reply may change it). */
  intervalMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Receives the dnsmasq log lines of each LAN bay's netboot (the hub's boot monitor). */
  onLogLine?: (line: string) => void;
  /**
   * Receives the line dnsmasq's dhcp-script hook writes when a LAN bay gets its lease
   * (`EPOCH add MAC IP HOSTNAME`), as the hub's lease watcher reads it: MAC learning works on
   * the simulated module as on a real hub.
   */
  onLease?: (hookLine: string) => void;
  /** Injected boot faults, by node. */
  faults?: ReadonlyMap<number, VirtualBootFault>;
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
  /** Boots started per node (for transient faults). */
  readonly #boots = new Map<number, number>();
  /** The fault injected into each node's boot under way (null: a clean boot). */
  readonly #faultNow = new Map<number, VirtualBootFault["kind"] | null>();
  #closed = false;

  constructor(opts: VirtualClusterOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Starts following the module's rails (and boots nodes that are already on). */
  attach(): void {
    this.#o.sim.onRailChange = (node, state) => this.#onRail(node, state);
    for (const bay of this.#o.map.bays) {
      this.#o.sim.read(bay.id).then((s) => s === "on" && this.#onRail(bay.id, "on"))
        .catch(backgroundFailed("virtual cluster: read a rail"));
    }
  }

  /**
   * The fault injected into `node`'s boot under way, once the boot got as far as the network
   * (a fifth of the boot delay); null for a clean boot, undefined before that or when off.
   * The simulated console prints what such a boot prints.
   */
  bootFault(node: number): VirtualBootFault["kind"] | null | undefined {
    return this.#faultNow.get(node);
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
      this.#netboot(node, ac.signal).then(async (agent) => {
        if (this.#booting.get(node) === ac) this.#booting.delete(node);
        if (!agent || ac.signal.aborted || this.#closed) return;
        await this.#boot(node);
      }).catch(backgroundFailed("virtual cluster: boot a node"));
    } else {
      this.#faultNow.delete(node);
      this.#booting.get(node)?.abort();
      this.#booting.delete(node);
      this.kill(node);
    }
  }

  /**
   * The boot ROM and firmware of a LAN bay, as dnsmasq logs them: DHCP at a fifth of the boot
   * delay, the ACK at a quarter, TFTP files until half, the agent at the full delay. Resolves
   * true when the agent should start.
   */
  async #netboot(node: number, signal: AbortSignal): Promise<boolean> {
    const bay = bayAt(this.#o.map, node);
    const d = this.#o.bootDelayMs;
    const start = this.#clock.now();
    const at = async (fraction: number) => {
      await this.#clock.sleepUntil(start + d * fraction, signal);
      return !signal.aborted && !this.#closed;
    };
    // A boot counts (for transient faults) once the firmware got as far as the network: the
    // self test's short pulses do not.
    if (!await at(0.2)) return false;
    const boot = (this.#boots.get(node) ?? 0) + 1;
    this.#boots.set(node, boot);
    const f = this.#o.faults?.get(node);
    const fault = f && boot <= (f.boots ?? Infinity) ? f.kind : null;
    this.#faultNow.set(node, fault);
    const log = this.#o.onLogLine;
    if (bay.lan && log) {
      const o = {
        pid: 4242,
        iface: "eth0",
        mac: virtualMac(node),
        xid: 100_000 * node + boot,
        tftpRoot: "/srv/netboot/boot",
      };
      const emit = (step: Parameters<typeof syntheticDnsmasqLines>[1]) =>
        syntheticDnsmasqLines(o, step).forEach(log);
      if (fault === "no_lease") {
        emit({ kind: "discover", offer: null });
        if (!await at(0.6)) return false;
        emit({ kind: "discover", offer: null });
        return false;
      }
      emit({ kind: "discover", offer: bay.ip });
      if (!await at(0.25)) return false;
      emit({ kind: "ack", ip: bay.ip, hostname: bay.hostname });
      this.#o.onLease?.(
        `${Math.floor(this.#clock.now() / 1000)} add ${o.mac} ${bay.ip} ${bay.hostname}`,
      );
      for (const [i, file] of VIRTUAL_BOOT_FILES.entries()) {
        if (!await at(0.3 + 0.04 * i)) return false;
        emit({ kind: "tftp", ip: bay.ip, file });
      }
    } else if (fault === "no_lease") return false;
    if (!await at(1)) return false;
    return fault !== "no_heartbeat";
  }

  async #boot(node: number): Promise<void> {
    const bay = bayAt(this.#o.map, node);
    const startedAt = this.#clock.now();
    const agent = await startAgent({
      hub: this.#o.hubUrl,
      key: this.#o.agentKeyFor(node),
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
