/**
 * Heartbeat ingest: finds the bay an agent reports from, checks that the sender may speak for
 * it, hands the report to the tracker and answers with the commands for that node (LED mode,
 * heartbeat interval).
 *
 * What a heartbeat must pass (each refusal is a 403, counted by reason in /metrics):
 * - `wrong_node`: a node's own key reports only for that node;
 * - `wrong_mac`: the MAC it reports is not one the hub learned for another bay;
 * - `wrong_address`: it does not come from another bay's address (10.42.0.M, M ≠ N);
 * - `bay_off`: the bay's rail has read off for longer than a heartbeat can be in flight.
 */
import type { AgentAuthCounters, AgentCredential, AgentRefusal } from "../auth/agent_keys.ts";
import type { Clock } from "../../shared/clock.ts";
import { ClusterError } from "../../shared/errors.ts";
import {
  bayOf,
  nodeIdForHostname,
  nodeIdForIp,
  nodeIds,
  type NodeMap,
} from "../../shared/node_map.ts";
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
  /** Counts refusals and shared-key heartbeats (default: counted nowhere). */
  counters?: AgentAuthCounters;
  /** Told once per node whose agent still uses the shared key (default: console.warn). */
  warn?: (message: string) => void;
}

/** Takes in agent heartbeats. */
export class AgentIngest {
  readonly #map: NodeMap;
  readonly #store: Store;
  readonly #tracker: NodeTracker;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #counters?: AgentAuthCounters;
  readonly #warn: (message: string) => void;
  readonly #warnedShared = new Set<number>();

  constructor(deps: AgentIngestDeps) {
    this.#map = deps.map;
    this.#store = deps.store;
    this.#tracker = deps.tracker;
    this.#clock = deps.clock;
    this.#intervalMs = deps.heartbeatIntervalMs;
    this.#counters = deps.counters;
    this.#warn = deps.warn ?? ((m) => console.warn(m));
  }

  /**
   * Ingests one agent heartbeat. The node is the one the agent names, else the bay whose
   * learned MAC matches, else its hostname, else its source address on the cluster subnet.
   */
  heartbeat(
    hb: Heartbeat,
    sourceIp?: () => string | undefined,
    credential: AgentCredential = { kind: "admin" },
  ): HeartbeatReply {
    const id = this.#resolveNode(hb, sourceIp, credential);
    const report: AgentReport = {
      identity: hb.identity,
      health: hb.health,
      led: hb.led,
      ...(hb.ledEngine ? { ledEngine: hb.ledEngine } : {}),
      seq: hb.seq,
      receivedAt: Math.round(this.#clock.now()),
    };
    this.#checkSender(id, hb, sourceIp, credential, report);
    if (credential.kind === "shared") {
      this.#counters?.sharedKeyUsed();
      if (!this.#warnedShared.has(id)) {
        this.#warnedShared.add(id);
        this.#warn(
          `hub: warning: node ${id}'s agent uses the shared agent key, which can speak for any ` +
            "node: give it its own key (docs/security.md), then start the hub with " +
            "--no-shared-agent-key",
        );
      }
    }
    // The tracker publishes the heartbeat as a node update: its other consumers (boot
    // monitor, power health, the live view) subscribe to those on the event log.
    this.#tracker.heartbeat(id, report);
    return this.replyFor(id);
  }

  /** What the hub tells node `id`'s agent now (the answer to its heartbeat). */
  replyFor(id: number): HeartbeatReply {
    // A quarantined node that still reports shows the fault pattern on its bay LED.
    const quarantined = this.#tracker.get(id).quarantine !== null;
    return {
      node: id,
      led: quarantined ? "fault" : this.#store.node(id).ledRequested,
      intervalMs: this.#intervalMs,
    };
  }

  #refuse(reason: AgentRefusal, message: string): never {
    this.#counters?.refused(reason);
    throw new ClusterError("forbidden", message, { reason });
  }

  /** Refuses a heartbeat its sender may not send for bay `id` (see the module comment). */
  #checkSender(
    id: number,
    hb: Heartbeat,
    sourceIp: (() => string | undefined) | undefined,
    credential: AgentCredential,
    report: AgentReport,
  ): void {
    const mac = hb.identity.mac;
    // The usual case first: the bay's own learned MAC (one cached read, no scan).
    if (credential.kind !== "admin" && mac && this.#store.node(id).mac !== mac) {
      const owner = this.#store.nodes(nodeIds(this.#map)).find((r) => r.mac === mac);
      if (owner && owner.id !== id) {
        this.#refuse(
          "wrong_mac",
          `a heartbeat for node ${id} reports MAC ${mac}, which the hub learned for node ${owner.id}`,
        );
      }
    }
    if (credential.kind !== "admin") {
      const ip = sourceIp?.();
      const from = ip === undefined ? undefined : nodeIdForIp(this.#map, ip);
      if (from !== undefined && from !== id) {
        this.#refuse(
          "wrong_address",
          `a heartbeat for node ${id} came from ${ip}, which is node ${from}'s address`,
        );
      }
    }
    if (this.#tracker.offTooLong(id, report)) {
      this.#refuse(
        "bay_off",
        `node ${id}'s rail has read off for more than ${this.#tracker.lostAfterMs} ms: a ` +
          "heartbeat from it cannot be real (check the agent's node id, or the power wiring)",
      );
    }
  }

  #resolveNode(
    hb: Heartbeat,
    sourceIp: (() => string | undefined) | undefined,
    credential: AgentCredential,
  ): number {
    const { identity } = hb;
    const nodeCount = this.#map.bays.length;
    if (credential.kind === "node") {
      if (!bayOf(this.#map, credential.node)) {
        this.#refuse("wrong_node", `this key is node ${credential.node}'s: this module has none`);
      }
      if (identity.node !== undefined && identity.node !== credential.node) {
        this.#refuse(
          "wrong_node",
          `this agent key is node ${credential.node}'s: it cannot report for node ${identity.node}`,
        );
      }
      return credential.node;
    }
    if (identity.node !== undefined) {
      if (!bayOf(this.#map, identity.node)) {
        throw new ClusterError(
          "invalid_node",
          `agent says it is node ${identity.node}, but this module has nodes 1 to ${nodeCount}`,
        );
      }
      return identity.node;
    }
    if (identity.mac) {
      const rec = this.#store.nodes(nodeIds(this.#map)).find((r) => r.mac === identity.mac);
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
