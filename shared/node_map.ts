/**
 * The one node map: geometry, expected model, addresses and names of every bay,
 * plus the switch and the hub. Pure data, built from a small config.
 */
import { parseNodeSet } from "./range.ts";
import type { Model } from "./schemas.ts";

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

/** What a node map is built from. */
export interface NodeMapConfig {
  /** 48 or 60 bays. */
  nodeCount: 48 | 60;
  assetTag: AssetTag;
  /** Bays fitted with Pi Zero W (WiFi only, no LAN), as a node set. Empty string for none. */
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
  zeroBays: "17-22,24-29",
  lanModel: "pi3b+",
  subnetPrefix: "10.42.0",
  domain: "cluster",
};

/** One bay of the module. */
export interface Bay {
  /** Control-plane id 1..nodeCount. */
  id: number;
  /** BitBar bus 1..10 (bus 1 at the front, the last at the rear). */
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

/** Builds the node map from a config (defaults: the vendor's 60-node module). */
export function buildNodeMap(partial: Partial<NodeMapConfig> = {}): NodeMap {
  const nodeCount = partial.nodeCount ?? DEFAULT_NODE_MAP_CONFIG.nodeCount;
  const config: NodeMapConfig = {
    ...DEFAULT_NODE_MAP_CONFIG,
    assetTag: defaultAssetTag(nodeCount),
    ...partial,
  };
  if (config.nodeCount !== 48 && config.nodeCount !== 60) {
    throw new Error(`nodeCount must be 48 or 60, not ${config.nodeCount}`);
  }
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
    buses: config.nodeCount / SLOTS_PER_BUS,
    bays,
    switch: { id: SWITCH_ID, hostname: "switch", ip: `${config.subnetPrefix}.${SWITCH_ID}` },
    hub: { id: HUB_ID, hostname: "bonnie", ip: `${config.subnetPrefix}.${HUB_ID}` },
  };
}

/** The bay with control-plane id `id`, or undefined. */
export function bayOf(map: NodeMap, id: number): Bay | undefined {
  return map.bays[id - 1];
}

/** The node a cluster address belongs to (10.42.0.N → N), or undefined. */
export function nodeIdForIp(map: NodeMap, address: string): number | undefined {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  const ip = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  const prefix = `${map.config.subnetPrefix}.`;
  const last = ip.slice(prefix.length);
  if (!ip.startsWith(prefix) || !/^[0-9]{1,3}$/.test(last)) return undefined;
  const n = Number(last);
  return n >= 1 && n <= map.bays.length ? n : undefined;
}

/** The node a hostname names (node07 → 7), or undefined. */
export function nodeIdForHostname(map: NodeMap, hostname: string): number | undefined {
  const m = hostname.trim().toLowerCase().match(/^node0*([0-9]+)(\..*)?$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= map.bays.length ? n : undefined;
}
