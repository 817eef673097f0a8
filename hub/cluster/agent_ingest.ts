/**
 * Heartbeat ingest: finds the bay an agent reports from, hands the report to the tracker
 * and answers with the commands for that node (LED mode, heartbeat interval).
 */
import type { Clock } from "../../shared/clock.ts";
import { ClusterError } from "../../shared/errors.ts";
import { nodeIdForHostname, nodeIdForIp, type NodeMap } from "../../shared/node_map.ts";
import type { AgentReport, Heartbeat, HeartbeatReply } from "../../shared/schemas.ts";
import type { Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";

/** What ingest needs. */
export interface AgentIngestDeps {
  map: NodeMap;
  store: Store;
  tracker: NodeTracker;
  clock: Clock;
  /** Heartbeat interval the hub asks agents for, ms. */
  heartbeatIntervalMs: number;
  /** Sees every heartbeat once its bay is known (the boot monitor). */
  onHeartbeat?: (node: number, report: AgentReport) => void;
}

/** Takes in agent heartbeats. */
export class AgentIngest {
  readonly #map: NodeMap;
  readonly #store: Store;
  readonly #tracker: NodeTracker;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #onHeartbeat?: (node: number, report: AgentReport) => void;

  constructor(deps: AgentIngestDeps) {
    this.#map = deps.map;
    this.#store = deps.store;
    this.#tracker = deps.tracker;
    this.#clock = deps.clock;
    this.#intervalMs = deps.heartbeatIntervalMs;
    this.#onHeartbeat = deps.onHeartbeat;
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
      receivedAt: Math.round(this.#clock.now()),
    };
    this.#tracker.heartbeat(id, report);
    this.#onHeartbeat?.(id, report);
    // A quarantined node that still reports shows the fault pattern on its bay LED.
    const quarantined = this.#tracker.get(id).quarantine !== null;
    return {
      node: id,
      led: quarantined ? "fault" : this.#store.node(id).ledRequested,
      intervalMs: this.#intervalMs,
    };
  }

  #resolveNode(hb: Heartbeat, sourceIp?: () => string | undefined): number {
    const { identity } = hb;
    const nodeCount = this.#map.bays.length;
    if (identity.node !== undefined) {
      if (identity.node > nodeCount) {
        throw new ClusterError(
          "invalid_node",
          `agent says it is node ${identity.node}, but this module has nodes 1 to ${nodeCount}`,
        );
      }
      return identity.node;
    }
    if (identity.mac) {
      const rec = this.#store.nodes(nodeCount).find((r) => r.mac === identity.mac);
      if (rec) return rec.id;
    }
    const byName = nodeIdForHostname(this.#map, identity.hostname);
    if (byName !== undefined) return byName;
    const ip = sourceIp?.();
    const byIp = ip === undefined ? undefined : nodeIdForIp(this.#map, ip);
    if (byIp !== undefined) return byIp;
    throw new ClusterError(
      "invalid_node",
      `cannot tell which bay agent "${identity.hostname}" is in: give it --node N (or cm.node=N on the kernel command line)`,
    );
  }
}
