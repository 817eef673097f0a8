/**
 * The one node map: geometry, expected model, addresses and names of every bay,
 * plus the switch and the hub. Pure data, built from a small config.
 */
import { noSuchNode, parseNodeSet } from "./range.ts";
import type { Model } from "./wire_schemas.ts";

/** Nodes per BitBar control-plane bus. */
export const SLOTS_PER_BUS = 6;
/** Control-plane id of the internal switch (also its last address octet). */
export const SWITCH_ID = 201;
/** Control-plane id of the hub / cluster manager (also its last address octet). */
export const HUB_ID = 250;

/** The module's asset tag, as on its stickers. */
export interface AssetTag {
  sku: string;
  model: string;
  tag: string;
}

/** A module shape: which of its bays hold Pi Zero W unless told otherwise. */
export interface ModuleShape {
  /** Bays fitted with Pi Zero W by default, as a node set ("" for none). */
  zeroBays: string;
  /** What the shape is, for `--help`. */
  note: string;
}

/**
 * Every module shape, by its number of bays (SLOTS_PER_BUS to a BitBar bus, numbered 1.. down
 * the buses). Bay N is node N: address `<subnet>.N`, hostname `nodeNN`. Adding a shape is one
 * entry here; the hub's `--nodes`, the schemas' bounds and every range check follow.
 */
export const MODULE_SHAPES = {
  60: { zeroBays: "17-22,24-29", note: "the vendor's CM60" },
  48: { zeroBays: "", note: "all LAN" },
  12: { zeroBays: "6", note: "a test shape, two BitBars" },
} as const satisfies Record<number, ModuleShape>;

/** A module size the hub knows: a key of {@link MODULE_SHAPES}. */
export type NodeCount = keyof typeof MODULE_SHAPES;

/** The known module sizes, smallest first. */
export const NODE_COUNTS: readonly NodeCount[] = Object.keys(MODULE_SHAPES)
  .map(Number).sort((a, b) => a - b) as NodeCount[];

/**
 * The largest node id of any module shape: what an agent or `cm` accepts as a node id before a
 * hub checks it against its own module. (Hostnames and agent keys spell ids as `nodeNN`.)
 */
export const MAX_NODE_ID: number = NODE_COUNTS[NODE_COUNTS.length - 1];

/** True when `n` is the size of a known module shape. */
export function isNodeCount(n: number): n is NodeCount {
  return Object.hasOwn(MODULE_SHAPES, n) && Number.isInteger(n);
}

/** The known sizes as words: "12, 48 or 60". */
export function nodeCountsText(): string {
  return `${NODE_COUNTS.slice(0, -1).join(", ")} or ${NODE_COUNTS[NODE_COUNTS.length - 1]}`;
}

/** What a node map is built from. */
export interface NodeMapConfig {
  /** Bays: the size of one of {@link MODULE_SHAPES}. */
  nodeCount: NodeCount;
  assetTag: AssetTag;
  /**
   * Bays fitted with Pi Zero W (WiFi only, no LAN), as a node set. Empty string for none
   * (default: the shape's).
   */
  zeroBays: string;
  /** Expected model of the LAN bays. */
  lanModel: Model;
  /** First three octets of the cluster subnet (a /24). */
  subnetPrefix: string;
  /** DNS domain of the cluster. */
  domain: string;
}

/**
 * The default asset tag for a module of `nodeCount` bays: the SKU names the size (`CM60A`, the
 * product the vendor guide ships; `CM48A` for the 48-bay module); MODEL and TAG are the guide's
 * example sticker (a real module's come from `--asset-tag`).
 */
export function defaultAssetTag(nodeCount: number): AssetTag {
  return { sku: `CM${nodeCount}A`, model: "QA6QDEDP", tag: "NMEBW9HT" };
}

/** The vendor's CM60 layout: Zero W in bays 17–22 and 24–29, LAN everywhere else. */
export const DEFAULT_NODE_MAP_CONFIG: NodeMapConfig = {
  nodeCount: 60,
  assetTag: defaultAssetTag(60),
  zeroBays: MODULE_SHAPES[60].zeroBays,
  lanModel: "pi3b+",
  subnetPrefix: "10.42.0",
  domain: "cluster",
};

/** One bay of the module. */
export interface Bay {
  /** Control-plane id 1..nodeCount. */
  id: number;
  /** BitBar bus 1..map.buses (bus 1 at the front, the last at the rear). */
  bus: number;
  /** Slot on the bus, 1 at the top. */
  slot: number;
  expectedModel: Model;
  /** True when the bay is wired to the switch (not a Zero W). */
  lan: boolean;
  hostname: string;
  ip: string;
}

/** A non-node host of the module (switch or hub). */
export interface Host {
  id: number;
  hostname: string;
  ip: string;
}

/** The whole module: bays, switch and hub. */
export interface NodeMap {
  config: NodeMapConfig;
  buses: number;
  bays: Bay[];
  switch: Host;
  hub: Host;
}

/** Hostname of node `id`: node01 … node60. */
export function nodeHostname(id: number): string {
  return `node${String(id).padStart(2, "0")}`;
}

/** BitBar bus and slot of node `id`: node 1 top-left, node 2 below it down bus 1. */
export function busSlotOf(id: number): { bus: number; slot: number } {
  return { bus: Math.ceil(id / SLOTS_PER_BUS), slot: ((id - 1) % SLOTS_PER_BUS) + 1 };
}

/**
 * Builds the node map from a config (defaults: the vendor's 60-node module; the asset tag and
 * Zero W bays default to the shape's).
 */
export function buildNodeMap(partial: Partial<NodeMapConfig> = {}): NodeMap {
  const nodeCount = partial.nodeCount ?? DEFAULT_NODE_MAP_CONFIG.nodeCount;
  if (!isNodeCount(nodeCount)) {
    throw new Error(`nodeCount must be ${nodeCountsText()}, not ${nodeCount}`);
  }
  const config: NodeMapConfig = {
    ...DEFAULT_NODE_MAP_CONFIG,
    assetTag: defaultAssetTag(nodeCount),
    zeroBays: MODULE_SHAPES[nodeCount].zeroBays,
    ...partial,
  };
  const zero = new Set(
    config.zeroBays.trim() === "" ? [] : parseNodeSet(config.zeroBays, config.nodeCount),
  );
  const bays: Bay[] = [];
  for (let id = 1; id <= config.nodeCount; id++) {
    const lan = !zero.has(id);
    bays.push({
      id,
      ...busSlotOf(id),
      expectedModel: lan ? config.lanModel : "pi0w",
      lan,
      hostname: nodeHostname(id),
      ip: `${config.subnetPrefix}.${id}`,
    });
  }
  return {
    config,
    buses: Math.ceil(config.nodeCount / SLOTS_PER_BUS),
    bays,
    switch: { id: SWITCH_ID, hostname: "switch", ip: `${config.subnetPrefix}.${SWITCH_ID}` },
    hub: { id: HUB_ID, hostname: "bonnie", ip: `${config.subnetPrefix}.${HUB_ID}` },
  };
}

/** The bay with control-plane id `id`, or undefined. */
export function bayOf(map: NodeMap, id: number): Bay | undefined {
  return Number.isInteger(id) ? map.bays[id - 1] : undefined;
}

/**
 * The bay with control-plane id `id`, for an id already checked against the map (a node set
 * parsed by the hub, a record of the store); a RangeError for any other.
 */
export function bayAt(map: NodeMap, id: number): Bay {
  const bay = bayOf(map, id);
  if (!bay) throw new RangeError(`node ${id} is not a bay of this ${map.bays.length}-node module`);
  return bay;
}

/** Every node id of the module, in order. */
export function nodeIds(map: NodeMap): number[] {
  return map.bays.map((b) => b.id);
}

/** Every BitBar bus of the module, in order. */
export function busIds(map: NodeMap): number[] {
  return Array.from({ length: map.buses }, (_, i) => i + 1);
}

/**
 * Why `id` is no node of this module ("node 61 does not exist: this module has nodes 1 to 60"),
 * or null when it is one. The one wording of a range error for ids that arrive as numbers.
 */
export function nodeRangeProblem(map: NodeMap, id: number): string | null {
  return bayOf(map, id) ? null : noSuchNode(id, map.bays.length);
}

/** The node a cluster address belongs to (10.42.0.N → N), or undefined. */
export function nodeIdForIp(map: NodeMap, address: string): number | undefined {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  const ip = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  const prefix = `${map.config.subnetPrefix}.`;
  const last = ip.slice(prefix.length);
  if (!ip.startsWith(prefix) || !/^[0-9]{1,3}$/.test(last)) return undefined;
  const n = Number(last);
  return bayOf(map, n) ? n : undefined;
}

/**
 * The node id a hostname spells (node07 → 7) on a module of any shape (up to MAX_NODE_ID), or
 * undefined: what the agent, which knows no map, takes its id from; the hub checks it.
 */
export function parseNodeHostname(hostname: string): number | undefined {
  const m = hostname.trim().toLowerCase().match(/^node0*([0-9]{1,3})(\..*)?$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= MAX_NODE_ID ? n : undefined;
}

/** The node a hostname names (node07 → 7), or undefined. */
export function nodeIdForHostname(map: NodeMap, hostname: string): number | undefined {
  const n = parseNodeHostname(hostname);
  return n !== undefined && bayOf(map, n) ? n : undefined;
}
