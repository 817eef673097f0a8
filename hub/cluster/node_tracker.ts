/**
 * The hub's live picture of each node: rail read-back, operations under way, faults and
 * agent reports. It derives each node's lifecycle and emits an event whenever it changes,
 * including `lost` exactly `lostAfterMs` after the last heartbeat (a per-node deadline
 * timer, not a polling loop).
 *
 * It also publishes every change of a node's status (`NodeView`: its own runtime state and
 * the stored settings) as a compact `node_updated` update on the event log, heartbeats
 * included: the one live path the dashboard, the WebSocket clients, the boot monitor and the
 * power-health watch all subscribe to.
 */
import type { Clock } from "../../shared/clock.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import type { Quarantine } from "../../shared/boot_schemas.ts";
import type { AgentReport, Lifecycle, PowerState } from "../../shared/schemas.ts";
import type { EventLog } from "../events/event_log.ts";
import type { Store } from "../store/store.ts";
import { diffNodeView, type NodeView } from "../../shared/node_update.ts";
import { deriveLifecycle } from "./lifecycle.ts";
import { backgroundFailed } from "../process_faults.ts";

/** In-memory state of one node. */
export interface NodeRuntime {
  actual: PowerState;
  operating: number;
  fault: string | null;
  poweredOnAt: number | null;
  lastHeartbeatAt: number | null;
  /**
   * The last heartbeat ever seen from this bay (kept when the node goes off; restored from the
   * store at start, so a node that ran before a hub restart is not shown as never heard).
   */
  lastSeenAt: number | null;
  agent: AgentReport | null;
  lifecycle: Lifecycle;
  /** A heartbeat_lost was announced and no heartbeat_regained yet. */
  silent: boolean;
  /** Ends the pending lost-deadline sleep. */
  deadline: AbortController | null;
  /** Since when the rail has read off (null: on). */
  offSince: number | null;
  /** A power_mismatch was announced for this off period. */
  mismatchTold: boolean;
  /** Set while the node is quarantined after a boot that failed every recovery (a fault). */
  quarantine: Quarantine | null;
}

/** Tracks all nodes' runtime state and lifecycle. */
export class NodeTracker {
  /** By node id, one per bay of the map. */
  readonly #nodes: Map<number, NodeRuntime>;
  readonly #events: EventLog;
  readonly #clock: Clock;
  readonly #records: Pick<Store, "node">;
  /** What the last update of each node said (the view subscribers have). */
  readonly #published: Map<number, NodeView>;
  readonly lostAfterMs: number;
  #closed = false;

  /** `records`: the stored per-node settings (desired power, LED, enabled, MAC). */
  constructor(
    map: NodeMap,
    events: EventLog,
    clock: Clock,
    lostAfterMs: number,
    records: Pick<Store, "node">,
  ) {
    this.#events = events;
    this.#clock = clock;
    this.#records = records;
    this.lostAfterMs = lostAfterMs;
    this.#nodes = new Map(map.bays.map((bay): [number, NodeRuntime] => [bay.id, {
      actual: "off" as PowerState,
      operating: 0,
      fault: null,
      poweredOnAt: null,
      lastHeartbeatAt: null,
      lastSeenAt: null,
      agent: null,
      lifecycle: "off" as Lifecycle,
      silent: false,
      deadline: null,
      offSince: clock.now(),
      mismatchTold: false,
      quarantine: null,
    }]));
    this.#published = new Map([...this.#nodes.keys()].map((id) => [id, this.view(id)]));
  }

  /** The changing part of node `id`'s status, as `GET /api/v1/nodes/:id` shows it. */
  view(id: number): NodeView {
    const n = this.#node(id);
    const rec = this.#records.node(id);
    return {
      mac: rec.mac,
      enabled: rec.enabled,
      power: { desired: rec.desiredPower, actual: n.actual },
      lifecycle: n.lifecycle,
      ledRequested: rec.ledRequested,
      lastHeartbeatAt: n.lastHeartbeatAt === null ? null : Math.round(n.lastHeartbeatAt),
      lastSeenAt: n.lastSeenAt === null ? null : Math.round(n.lastSeenAt),
      agent: n.agent,
      quarantine: n.quarantine,
    };
  }

  /** A stored setting of node `id` changed (LED request, enabled, MAC, desired power). */
  recordChanged(id: number): void {
    this.#publish(id);
  }

  /**
   * Publishes what changed in node `id` since its last update, if anything did. A heartbeat's
   * update always says `agent.seq` and `agent.receivedAt` (the heartbeat's subscribers count
   * on them).
   */
  #publish(id: number, heartbeat?: AgentReport): void {
    const next = this.view(id);
    let changes = diffNodeView(this.#published.get(id)!, next);
    if (heartbeat) {
      const agent = changes?.agent ?? {};
      changes = {
        ...changes,
        agent: { ...agent, seq: heartbeat.seq, receivedAt: heartbeat.receivedAt },
      };
    }
    if (changes === undefined) return;
    this.#published.set(id, next);
    this.#events.publish({ node: id, at: Math.round(this.#clock.now()), changes });
  }

  /** Read-only view of one node's runtime state. */
  get(id: number): Readonly<NodeRuntime> {
    return this.#node(id);
  }

  /** Node `id`'s state; callers pass ids of the map (checked at the edge). */
  #node(id: number): NodeRuntime {
    return this.#nodes.get(id)!;
  }

  /** Seeds rail states read at start-up (no events: nothing changed). */
  seed(id: number, actual: PowerState): void {
    const n = this.#node(id);
    n.actual = actual;
    n.poweredOnAt = actual === "on" ? this.#clock.now() : null;
    n.offSince = actual === "off" ? this.#clock.now() : null;
    n.mismatchTold = false;
    n.lifecycle = this.#derive(n);
  }

  /** Restores when a bay was last heard before this hub started (a newer heartbeat wins). */
  restoreLastSeen(id: number, at: number): void {
    const n = this.#nodes.get(id);
    if (n && (n.lastSeenAt === null || n.lastSeenAt < at)) n.lastSeenAt = at;
  }

  /** Marks the start of a power operation. */
  beginOperation(id: number): void {
    this.#node(id).operating++;
    this.#update(id);
    this.#publish(id);
  }

  /** Marks the end of a power operation with the rail state read back. */
  endOperation(id: number, actual: PowerState, fault: string | null): void {
    const n = this.#node(id);
    n.operating = Math.max(0, n.operating - 1);
    // Whole ms, like heartbeat receipt times, so a heartbeat right after power-on counts.
    if (actual === "on" && n.actual === "off") n.poweredOnAt = Math.floor(this.#clock.now());
    if (actual === "off") {
      // A node that is off has no agent: its last report would only mislead (LED, heartbeat age).
      n.poweredOnAt = null;
      n.agent = null;
      n.lastHeartbeatAt = null;
    }
    if (actual !== n.actual) {
      n.offSince = actual === "off" ? this.#clock.now() : null;
      n.mismatchTold = false;
    }
    n.actual = actual;
    n.fault = fault;
    this.#update(id);
    this.#publish(id);
  }

  /** Quarantines a node (its lifecycle is `fault` until cleared), or clears it with null. */
  setQuarantine(id: number, q: Quarantine | null): void {
    this.#node(id).quarantine = q;
    this.#update(id);
    this.#publish(id);
  }

  /**
   * True when bay `id` has read off (and is not being switched) for longer than a heartbeat can
   * be in flight, so `report` cannot come from it: wiring, a sense line or the agent's node id
   * is wrong, or someone else speaks for the bay. Said once per off period as a
   * `power_mismatch` event, never silently.
   */
  offTooLong(id: number, report: AgentReport): boolean {
    const n = this.#node(id);
    if (
      n.actual !== "off" || n.operating !== 0 || n.offSince === null ||
      report.receivedAt - n.offSince <= this.lostAfterMs
    ) return false;
    if (!n.mismatchTold) {
      n.mismatchTold = true;
      this.#events.emit(
        "power_mismatch",
        id,
        `node ${id}: an agent (${report.identity.hostname}) heartbeats from this bay, but its ` +
          "rail reads off: check the power wiring or sense line, and the agent's node id",
        { hostname: report.identity.hostname, mac: report.identity.mac, actual: "off" },
      );
    }
    return true;
  }

  /** Records an agent heartbeat and makes sure a lost deadline is pending. */
  heartbeat(id: number, report: AgentReport): void {
    const n = this.#node(id);
    this.offTooLong(id, report);
    n.agent = report;
    n.lastHeartbeatAt = report.receivedAt;
    n.lastSeenAt = report.receivedAt;
    this.#update(id);
    this.#publish(id, report);
    // One pending timer per node: when it fires it re-arms for the latest heartbeat's deadline,
    // so a heartbeat costs no timer of its own.
    if (!n.deadline) this.#armDeadline(id);
  }

  #armDeadline(id: number): void {
    const n = this.#node(id);
    if (this.#closed || n.lastHeartbeatAt === null) return;
    const ctl = new AbortController();
    n.deadline = ctl;
    const beat = n.lastHeartbeatAt;
    this.#clock.sleepUntil(beat + this.lostAfterMs, ctl.signal).then(() => {
      if (ctl.signal.aborted) return;
      n.deadline = null;
      if (n.lastHeartbeatAt !== beat) return this.#armDeadline(id); // a newer heartbeat came
      this.#update(id);
      this.#publish(id);
    }).catch(backgroundFailed("lost-heartbeat timer"));
  }

  #derive(n: NodeRuntime): Lifecycle {
    return deriveLifecycle({
      actual: n.actual,
      operating: n.operating > 0,
      fault: n.fault !== null || n.quarantine !== null,
      poweredOnAt: n.poweredOnAt,
      lastHeartbeatAt: n.lastHeartbeatAt,
      now: this.#clock.now(),
      lostAfterMs: this.lostAfterMs,
    });
  }

  #update(id: number): void {
    const n = this.#node(id);
    const next = this.#derive(n);
    if (next === n.lifecycle) return;
    const from = n.lifecycle;
    n.lifecycle = next;
    this.#events.emit("lifecycle_changed", id, `node ${id}: ${from} → ${next}`, { from, to: next });
    // heartbeat_lost and heartbeat_regained always come in pairs, however `lost` was reached.
    if (next === "lost" && !n.silent) {
      n.silent = true;
      this.#events.emit(
        "heartbeat_lost",
        id,
        `node ${id} sent no heartbeat for ${this.lostAfterMs} ms`,
        {
          lastHeartbeatAt: n.lastHeartbeatAt,
          silentMs: Math.round(this.#clock.now() - (n.lastHeartbeatAt ?? 0)),
        },
      );
    } else if (next === "running" && n.silent) {
      n.silent = false;
      this.#events.emit("heartbeat_regained", id, `node ${id} heartbeats again`, {});
    } else if (next === "off") {
      n.silent = false;
    }
  }

  /** Cancels all deadline timers. */
  close(): void {
    this.#closed = true;
    for (const n of this.#nodes.values()) n.deadline?.abort();
  }
}
