/**
 * Per-node settings an operator changes without switching power: the LED mode the hub asks
 * the agent for, whether a bay takes part in bulk runs, and forgetting a learned MAC.
 */
import { ClusterError } from "../../shared/errors.ts";
import type { NodeStatus, RequestedLedMode } from "../../shared/schemas.ts";
import type { EventLog } from "../events/event_log.ts";
import type { Store } from "../store/store.ts";
import type { NodeStatusReader } from "./node_status.ts";
import type { NodeTracker } from "./node_tracker.ts";

/** What node settings need. */
export interface NodeSettingsDeps {
  store: Store;
  events: EventLog;
  status: NodeStatusReader;
  /** Told of every change, for the node's live update. */
  tracker: NodeTracker;
}

/** Changes stored per-node settings. */
export class NodeSettings {
  readonly #store: Store;
  readonly #events: EventLog;
  readonly #status: NodeStatusReader;
  readonly #tracker: NodeTracker;

  constructor(deps: NodeSettingsDeps) {
    this.#store = deps.store;
    this.#events = deps.events;
    this.#status = deps.status;
    this.#tracker = deps.tracker;
  }

  #update(id: number, patch: Parameters<Store["updateNode"]>[1]): void {
    this.#store.updateNode(id, patch);
    this.#tracker.recordChanged(id);
  }

  /** Sets the LED mode the hub asks a node's agent for (debugled). */
  setLed(id: number, mode: RequestedLedMode): NodeStatus {
    const before = this.#store.node(id).ledRequested;
    const value = mode === "heartbeat" ? null : mode;
    this.#update(id, { ledRequested: value });
    if (before !== value) {
      this.#events.emit("led_changed", id, `node ${id} LED ${mode}`, { mode });
    }
    return this.#status.node(id);
  }

  /**
   * A node switched off shows no LED, so its identify request ends with it (`led_changed`
   * says so); asked again while the node is off, identify waits for it to run.
   */
  endIdentify(id: number): void {
    if (this.#store.node(id).ledRequested !== "identify") return;
    this.#update(id, { ledRequested: null });
    this.#events.emit("led_changed", id, `node ${id} LED heartbeat: identify ended, switched off`, {
      mode: "heartbeat",
      reason: "switched off",
    });
  }

  /** Marks bays as enabled or excluded (spares) for bulk runs and bootstrap. */
  setEnabled(ids: readonly number[], enabled: boolean): void {
    for (const id of ids) this.#update(id, { enabled });
  }

  /** Forgets a bay's learned MAC (e.g. after swapping the Pi); the bay can be learned again. */
  forgetMac(id: number): NodeStatus {
    const before = this.#store.node(id).mac;
    if (before === null) {
      throw new ClusterError("conflict", `node ${id} has no learned MAC to forget`);
    }
    this.#update(id, { mac: null });
    this.#events.emit("mac_forgotten", id, `node ${id} forgot MAC ${before}`, { mac: before });
    return this.#status.node(id);
  }
}
