/**
 * Status reads: the module, one node, every node, and node ids and sets as the module
 * knows them. Nothing here switches or writes.
 */
import { ClusterError } from "../../shared/errors.ts";
import { bayOf, nodeIds, type NodeMap, SLOTS_PER_BUS } from "../../shared/node_map.ts";
import { checkNodeId, parseExactNodeId, parseNodeSet } from "../../shared/range.ts";
import type { ModuleInfo, NodeStatus } from "../../shared/schemas.ts";
import type { Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";

/** What the status reads need. */
export interface NodeStatusDeps {
  map: NodeMap;
  store: Store;
  tracker: NodeTracker;
  /** Name of the power driver (module info, health). */
  powerDriver: string;
  /** The module's name in a fleet (default: the asset tag's TAG). */
  module?: string;
}

/** Reads the module's and the nodes' status. */
export class NodeStatusReader {
  readonly #map: NodeMap;
  readonly #store: Store;
  readonly #tracker: NodeTracker;
  /** Name of the power driver in use. */
  readonly powerDriver: string;
  /** The module's name in a fleet of hubs. */
  readonly module: string;

  constructor(deps: NodeStatusDeps) {
    this.module = deps.module ?? deps.map.config.assetTag.tag;
    this.#map = deps.map;
    this.#store = deps.store;
    this.#tracker = deps.tracker;
    this.powerDriver = deps.powerDriver;
  }

  /** Number of bays. */
  get nodeCount(): number {
    return this.#map.bays.length;
  }

  /** Parses a node id given as text (URL segment, frame field): exactly a number, unpadded. */
  nodeId(text: string): number {
    return parseExactNodeId(text, this.nodeCount);
  }

  /** Checks a node id given as a number (a WebSocket frame's `node`) against the module. */
  checkNode(id: number): number {
    return checkNodeId(id, this.nodeCount);
  }

  /** Parses a node set such as "1-16,23,30-60" or "1 60". */
  nodeSet(text: string): number[] {
    return parseNodeSet(text, this.nodeCount);
  }

  /** Enabled bays, or the given node set. */
  targetNodes(nodes?: string): number[] {
    if (nodes !== undefined) return this.nodeSet(nodes);
    return this.#store.nodes(nodeIds(this.#map)).filter((r) => r.enabled).map((r) => r.id);
  }

  /** `GET /api/v1/module` */
  moduleInfo(): ModuleInfo {
    const { config, buses, hub } = this.#map;
    return {
      module: this.module,
      assetTag: { ...config.assetTag },
      nodeCount: this.nodeCount,
      buses,
      slotsPerBus: SLOTS_PER_BUS,
      subnet: `${config.subnetPrefix}.0/24`,
      domain: config.domain,
      powerDriver: this.powerDriver,
      switch: { ...this.#map.switch },
      hub: { ...hub },
    };
  }

  /** Status of one node. */
  node(id: number): NodeStatus {
    const bay = bayOf(this.#map, id);
    if (!bay) throw new ClusterError("not_found", `node ${id} does not exist`);
    const v = this.#tracker.view(id);
    return {
      id,
      bus: bay.bus,
      slot: bay.slot,
      hostname: bay.hostname,
      ip: bay.ip,
      mac: v.mac,
      expectedModel: bay.expectedModel,
      lan: bay.lan,
      enabled: v.enabled,
      power: v.power,
      lifecycle: v.lifecycle,
      ledRequested: v.ledRequested,
      lastHeartbeatAt: v.lastHeartbeatAt,
      lastSeenAt: v.lastSeenAt,
      agent: v.agent,
      quarantine: v.quarantine,
    };
  }

  /** Status of every node. */
  nodes(): NodeStatus[] {
    return this.#map.bays.map((b) => this.node(b.id));
  }
}
