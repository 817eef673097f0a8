/**
 * The hub's service layer: plain functions behind REST, WebSocket and CLI alike.
 * Routes parse and validate; this module decides and acts.
 */
import type { Clock } from "../../shared/clock.ts";
import { ClusterError, HardwareFaultError } from "../../shared/errors.ts";
import {
  nodeIdForHostname,
  nodeIdForIp,
  type NodeMap,
  SLOTS_PER_BUS,
} from "../../shared/node_map.ts";
import { formatNodeSet, parseNodeId, parseNodeSet } from "../../shared/range.ts";
import type {
  AgentReport,
  Heartbeat,
  HeartbeatReply,
  Job,
  ModuleInfo,
  NodeStatus,
  PowerAction,
  RequestedLedMode,
} from "../../shared/schemas.ts";
import type { EventLog } from "../events/event_log.ts";
import { type JobRunner, throwIfCancelled } from "../jobs/job_runner.ts";
import type { PowerSwitch } from "../power/power_switch.ts";
import type { Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";
import type { NodePowerResult, PowerSequencer } from "./power_sequencer.ts";
import { runActiveTest } from "./runs/active_check.ts";
import { runSelfTest, type SelfTestOptions } from "./runs/self_check.ts";

/** Everything the service needs, already built. */
export interface ClusterServiceDeps {
  map: NodeMap;
  store: Store;
  events: EventLog;
  clock: Clock;
  power: PowerSwitch;
  tracker: NodeTracker;
  sequencer: PowerSequencer;
  jobs: JobRunner;
  /** Heartbeat interval the hub asks agents for, ms. */
  heartbeatIntervalMs: number;
  /** Self-test timing. */
  selfTest: SelfTestOptions;
}

/** Job kinds that take over the whole module: only one runs at a time. */
const EXCLUSIVE = ["testall", "activetest", "bootstrap", "maclearn"] as const;

/** Result stored on a power job. */
export interface PowerJobResult {
  results: NodePowerResult[];
  failed: number[];
}

/** Controls and reports on the module. */
export class ClusterService {
  readonly d: ClusterServiceDeps;
  /** Nodes a module-wide job (self test, active test, bootstrap, restore) is driving. */
  readonly #owner = new Map<number, Job>();

  constructor(deps: ClusterServiceDeps) {
    this.d = deps;
  }

  /** Number of bays. */
  get nodeCount(): number {
    return this.d.map.bays.length;
  }

  /** Parses a node id given as text (URL segment, CLI argument). */
  nodeId(text: string): number {
    return parseNodeId(text, this.nodeCount);
  }

  /** Parses a node set such as "1-16,23,30-60" or "1 60". */
  nodeSet(text: string): number[] {
    return parseNodeSet(text, this.nodeCount);
  }

  /**
   * Reads every rail, fails jobs a previous process left running, and restores the desired
   * power state that was stored before the restart. Returns the restore job, if any.
   */
  async start(): Promise<Job | null> {
    for (const bay of this.d.map.bays) {
      this.d.tracker.seed(bay.id, await this.d.power.read(bay.id));
    }
    this.d.jobs.recoverInterrupted();
    const records = this.d.store.nodes(this.nodeCount);
    const drift = records.filter((r) => this.d.tracker.get(r.id).actual !== r.desiredPower);
    this.d.events.emit("hub_started", null, `hub started with ${this.nodeCount} nodes`, {
      driver: this.d.power.name,
      restoring: drift.map((r) => r.id),
    });
    if (drift.length === 0) return null;
    const on = drift.filter((r) => r.desiredPower === "on").map((r) => r.id);
    const off = drift.filter((r) => r.desiredPower === "off").map((r) => r.id);
    return this.startOwned(
      "power",
      drift.map((r) => r.id),
      `restore desired state (on ${formatNodeSet(on) || "-"}, off ${formatNodeSet(off) || "-"})`,
      drift.length,
      async (h) => {
        const results: NodePowerResult[] = [];
        const track = (r: NodePowerResult) => {
          results.push(r);
          h.progress(results.length);
        };
        await this.d.sequencer.applyMany(off, "off", track);
        await this.d.sequencer.applyMany(on, "on", track);
        return this.#summarise(results);
      },
    );
  }

  /** `GET /api/v1/module` */
  moduleInfo(): ModuleInfo {
    const { config, buses, hub } = this.d.map;
    return {
      assetTag: { ...config.assetTag },
      nodeCount: this.nodeCount,
      buses,
      slotsPerBus: SLOTS_PER_BUS,
      subnet: `${config.subnetPrefix}.0/24`,
      domain: config.domain,
      powerDriver: this.d.power.name,
      switch: { ...this.d.map.switch },
      hub: { ...hub },
    };
  }

  /** Status of one node. */
  node(id: number): NodeStatus {
    const bay = this.d.map.bays[id - 1];
    if (!bay) throw new ClusterError("not_found", `node ${id} does not exist`);
    const rec = this.d.store.node(id);
    const rt = this.d.tracker.get(id);
    return {
      id,
      bus: bay.bus,
      slot: bay.slot,
      hostname: bay.hostname,
      ip: bay.ip,
      mac: rec.mac,
      expectedModel: bay.expectedModel,
      lan: bay.lan,
      enabled: rec.enabled,
      power: { desired: rec.desiredPower, actual: rt.actual },
      lifecycle: rt.lifecycle,
      ledRequested: rec.ledRequested,
      lastHeartbeatAt: rt.lastHeartbeatAt === null ? null : Math.round(rt.lastHeartbeatAt),
      agent: rt.agent,
    };
  }

  /** Status of every node. */
  nodes(): NodeStatus[] {
    return this.d.map.bays.map((b) => this.node(b.id));
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
    for (const id of ids) this.d.store.updateNode(id, { desiredPower: desired });
    return this.d.sequencer.applyMany(ids, action, onResult);
  }

  /** Starts a power job for `ids`. The job fails (with per-node results) if any rail faulted. */
  power(ids: readonly number[], action: PowerAction): Job {
    if (ids.length === 0) throw new ClusterError("invalid_range", "no nodes given");
    this.#assertFree(ids);
    return this.d.jobs.start("power", `${action} ${formatNodeSet(ids)}`, ids.length, async (h) => {
      let done = 0;
      const results = await this.applyPower(ids, action, (r) => {
        h.progress(++done, undefined, `node ${r.node} ${r.ok ? r.actual : `fault: ${r.error}`}`);
      });
      const summary = this.#summarise(results);
      if (summary.failed.length > 0) {
        throw new HardwareFaultError(
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
   * Starts a job that drives `ids` on its own: until it ends, power commands for those
   * nodes are refused (409) rather than undone by the job or undoing it.
   */
  startOwned(
    kind: Job["kind"],
    ids: readonly number[],
    summary: string,
    total: number,
    work: Parameters<JobRunner["start"]>[3],
  ): Job {
    this.#assertFree(ids);
    const job = this.d.jobs.start(kind, summary, total, async (h) => {
      try {
        return await work(h);
      } finally {
        for (const id of ids) if (this.#owner.get(id)?.id === h.id) this.#owner.delete(id);
      }
    });
    for (const id of ids) this.#owner.set(id, job);
    return job;
  }

  #assertFree(ids: readonly number[]): void {
    const busy = ids.filter((id) => this.#owner.has(id));
    if (busy.length === 0) return;
    const job = this.#owner.get(busy[0])!;
    throw new ClusterError(
      "conflict",
      `node${busy.length > 1 ? "s" : ""} ${formatNodeSet(busy)} ${
        busy.length > 1 ? "are" : "is"
      } ` +
        `being driven by ${job.kind} job ${job.id}; wait for it (cm job ${job.id})`,
    );
  }

  /**
   * `macs learn`: the control plane powers bays one at a time so the hub can tell which bay a
   * new MAC belongs to. Bays without a MAC in `ids` are switched off, then each is switched on
   * alone and the job waits (up to `timeoutMs`) for its DHCP request to be learned. Bays that
   * already have a MAC are skipped. Learned bays are left on.
   */
  learnMacs(ids: readonly number[], timeoutMs: number): Job {
    this.assertIdle();
    const todo = ids.filter((id) =>
      this.d.store.node(id).mac === null && this.d.map.bays[id - 1].lan
    );
    if (todo.length === 0) {
      throw new ClusterError(
        "conflict",
        `every LAN bay in ${formatNodeSet(ids)} already has a MAC`,
      );
    }
    return this.startOwned("maclearn", todo, formatNodeSet(todo), todo.length, async (h) => {
      const { clock, events, store } = this.d;
      await this.applyPower(todo, "off");
      const learned: number[] = [];
      const missed: number[] = [];
      for (const [i, id] of todo.entries()) {
        throwIfCancelled(h.signal, "MAC learning", { learned, missed });
        let wake = () => {};
        const unsubscribe = events.subscribe((e) => {
          if (e.type === "mac_learned" && e.node === id) wake();
        });
        try {
          const seen = new Promise<void>((r) => (wake = r));
          await this.applyPower([id], "on");
          const ac = new AbortController();
          const stop = () => ac.abort();
          h.signal.addEventListener("abort", stop, { once: true });
          await Promise.race([seen, clock.sleep(timeoutMs, ac.signal)]);
          ac.abort();
          h.signal.removeEventListener("abort", stop);
        } finally {
          unsubscribe();
        }
        const mac = store.node(id).mac;
        (mac ? learned : missed).push(id);
        h.progress(
          i + 1,
          todo.length,
          mac ? `node ${id} is ${mac}` : `node ${id}: no DHCP request`,
        );
      }
      const summary = `learned ${learned.length} of ${todo.length}` +
        (missed.length ? `; no DHCP request from ${formatNodeSet(missed)}` : "");
      const report = { learned, missed, summary, lines: [] as string[] };
      if (missed.length) throw new ClusterError("not_ready", summary, report);
      return report;
    });
  }

  /** Forgets a bay's learned MAC (e.g. after swapping the Pi); the bay can be learned again. */
  forgetMac(id: number): NodeStatus {
    const before = this.d.store.node(id).mac;
    if (before === null) {
      throw new ClusterError("conflict", `node ${id} has no learned MAC to forget`);
    }
    this.d.store.updateNode(id, { mac: null });
    this.d.events.emit("mac_forgotten", id, `node ${id} forgot MAC ${before}`, { mac: before });
    return this.node(id);
  }

  /** Refuses to start a module-wide job while another one runs. */
  assertIdle(): void {
    for (const kind of EXCLUSIVE) {
      const running = this.d.jobs.running(kind);
      if (running) {
        throw new ClusterError(
          "conflict",
          `a ${kind} is already running (job ${running.id}); wait for it: cm job ${running.id}`,
        );
      }
    }
  }

  /** Enabled bays, or the given node set. */
  targetNodes(nodes?: string): number[] {
    if (nodes !== undefined) return this.nodeSet(nodes);
    return this.d.store.nodes(this.nodeCount).filter((r) => r.enabled).map((r) => r.id);
  }

  /** `testall`: the control-plane self test over `ids`; nodes are left off. */
  testall(ids: readonly number[]): Job {
    this.assertIdle();
    this.#assertFree(ids);
    for (const id of ids) this.d.store.updateNode(id, { desiredPower: "off" });
    return this.startOwned(
      "testall",
      ids,
      formatNodeSet(ids),
      ids.length * 2,
      async (h) => {
        const report = await runSelfTest(ids, this.d, this.d.selfTest, h);
        if (!report.pass) throw new HardwareFaultError(report.summary, report);
        return report;
      },
    );
  }

  /** `activetest`: power `ids` on and time each agent's first heartbeat. */
  activetest(ids: readonly number[], timeoutMs: number): Job {
    this.assertIdle();
    return this.startOwned(
      "activetest",
      ids,
      formatNodeSet(ids),
      ids.length,
      async (h) => {
        const report = await runActiveTest(
          ids,
          {
            events: this.d.events,
            clock: this.d.clock,
            isRunning: (n) => this.d.tracker.get(n).lifecycle === "running",
            powerOn: (nodes, onResult) => this.applyPower(nodes, "on", onResult),
          },
          timeoutMs,
          h,
        );
        if (!report.pass) throw new ClusterError("not_ready", report.summary, report);
        return report;
      },
    );
  }

  #summarise(results: NodePowerResult[]): PowerJobResult {
    return { results, failed: results.filter((r) => !r.ok).map((r) => r.node) };
  }

  /** Sets the LED mode the hub asks a node's agent for (debugled). */
  setLed(id: number, mode: RequestedLedMode): NodeStatus {
    const before = this.d.store.node(id).ledRequested;
    const value = mode === "heartbeat" ? null : mode;
    this.d.store.updateNode(id, { ledRequested: value });
    if (before !== value) {
      this.d.events.emit("led_changed", id, `node ${id} LED ${mode}`, { mode });
    }
    return this.node(id);
  }

  /** Marks bays as enabled or excluded (spares) for bulk runs and bootstrap. */
  setEnabled(ids: readonly number[], enabled: boolean): void {
    for (const id of ids) this.d.store.updateNode(id, { enabled });
  }

  /**
   * Ingests one agent heartbeat. The node is the one the agent names, else the bay whose
   * learned MAC matches, else its hostname, else its source address on the cluster subnet.
   */
  heartbeat(hb: Heartbeat, sourceIp?: () => string | undefined): HeartbeatReply {
    const id = this.#resolveNode(hb, sourceIp);
    const report: AgentReport = {
      identity: hb.identity,
      health: hb.health,
      led: hb.led,
      seq: hb.seq,
      receivedAt: Math.round(this.d.clock.now()),
    };
    this.d.tracker.heartbeat(id, report);
    return {
      node: id,
      led: this.d.store.node(id).ledRequested,
      intervalMs: this.d.heartbeatIntervalMs,
    };
  }

  #resolveNode(hb: Heartbeat, sourceIp?: () => string | undefined): number {
    const { identity } = hb;
    if (identity.node !== undefined) {
      if (identity.node > this.nodeCount) {
        throw new ClusterError(
          "invalid_node",
          `agent says it is node ${identity.node}, but this module has nodes 1 to ${this.nodeCount}`,
        );
      }
      return identity.node;
    }
    if (identity.mac) {
      const rec = this.d.store.nodes(this.nodeCount).find((r) => r.mac === identity.mac);
      if (rec) return rec.id;
    }
    const byName = nodeIdForHostname(this.d.map, identity.hostname);
    if (byName !== undefined) return byName;
    const ip = sourceIp?.();
    const byIp = ip === undefined ? undefined : nodeIdForIp(this.d.map, ip);
    if (byIp !== undefined) return byIp;
    throw new ClusterError(
      "invalid_node",
      `cannot tell which bay agent "${identity.hostname}" is in: give it --node N (or cm.node=N on the kernel command line)`,
    );
  }
}
