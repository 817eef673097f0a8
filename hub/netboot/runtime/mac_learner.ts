/**
 * MAC learning. A pure decision function turns one DHCP lease event into learn / known /
 * conflict / unknown / ignore, given the bay the control plane just powered on and the
 * current MAC table; {@link applyDecision} carries it out against the narrow {@link MacTable}
 * and {@link EventSink} seams. A MAC is never overwritten silently: a clash is a conflict.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import { bayOf } from "../../../shared/node_map.ts";
import type { EventType } from "../../../shared/schemas.ts";
import { isMac, normalizeMac } from "../settings/validate.ts";

/** The learned MAC of each bay (the hub's store implements it). */
export interface MacTable {
  /** node id → MAC (lower case, colon separated). */
  all(): Map<number, string>;
  /** Records `mac` for `node`. Only called for a bay without a MAC. */
  set(node: number, mac: string): void;
}

/** Where events go (the hub's event log implements it). */
export type EventSink = (
  type: EventType,
  node: number | null,
  message: string,
  data: Record<string, unknown>,
) => void;

/** dnsmasq lease actions (dhcp-script's first argument). */
export type LeaseAction = "add" | "old" | "del";

/** One lease event, as dnsmasq's dhcp-script reports it. */
export interface LeaseEvent {
  action: LeaseAction;
  mac: string;
  ip: string;
  /** Client-supplied hostname, or null. */
  hostname: string | null;
  /** When it happened, ms since the epoch. */
  at: number;
}

/** The bay the control plane powered on and is waiting to learn. */
export interface LearningTarget {
  node: number;
  /** When it was powered on, ms since the epoch: earlier events are not from it. */
  since: number;
  /**
   * Since when no other LAN bay without a MAC has had its rail on, ms since the epoch: an
   * event from before then may be another bay's.
   */
  othersOffSince?: number;
}

/** Last octets of the learning range (`NetbootSettings.learningRange`). */
export interface LearningRange {
  first: number;
  last: number;
}

/** True when `ip` is an address of the learning range in the node map's subnet. */
export function inLearningRange(map: NodeMap, range: LearningRange | null, ip: string): boolean {
  if (!range) return false;
  const prefix = `${map.config.subnetPrefix}.`;
  if (!ip.startsWith(prefix)) return false;
  const rest = ip.slice(prefix.length);
  if (!/^[0-9]{1,3}$/.test(rest)) return false;
  const octet = Number(rest);
  return octet >= range.first && octet <= range.last;
}

/** What to do with one lease event. */
export type LearnDecision =
  | { kind: "learn"; node: number; mac: string; ip: string }
  | { kind: "known"; node: number; mac: string; ip: string }
  | {
    kind: "conflict";
    node: number;
    mac: string;
    ip: string;
    reason: "bay_has_other_mac" | "mac_owned_by_other_bay";
    /** The bay's current MAC (bay_has_other_mac) or the MAC itself (mac_owned_by_other_bay). */
    existingMac: string;
    /** The bay the MAC belongs to (mac_owned_by_other_bay). */
    owner?: number;
  }
  | { kind: "unknown"; mac: string; ip: string; reason: string }
  | { kind: "ignore"; reason: string };

/**
 * Decides what a lease event means. Rules:
 * - `del` events and invalid MACs are ignored;
 * - a MAC already in the table is `known` (renewals of running nodes are normal), except a
 *   fresh `add` of another bay's MAC while a bay waits to be learned: a `conflict` (the Pi
 *   may have been moved between bays);
 * - a new MAC is learned only from an event at or after the target bay was powered (and after
 *   every other bay without a MAC went off, `othersOffSince`), and only for a LAN bay that has
 *   no MAC yet; if the bay has a different MAC, it is a `conflict` (a
 *   swapped Pi needs its MAC cleared explicitly). The event is an `add`, or an `old` for an
 *   address of `learningRange`: dnsmasq reports a Pi that reboots within its learning lease
 *   as a renewal (`old`, with `script-on-renewal`), never as a new lease;
 * - anything else is `unknown`.
 */
export function decideLease(
  map: NodeMap,
  event: LeaseEvent,
  target: LearningTarget | null,
  table: ReadonlyMap<number, string>,
  learningRange: LearningRange | null = null,
): LearnDecision {
  if (event.action === "del") return { kind: "ignore", reason: "lease released" };
  if (!isMac(event.mac)) return { kind: "ignore", reason: `invalid MAC "${event.mac}"` };
  const mac = normalizeMac(event.mac);
  const ip = event.ip;
  for (const [node, known] of table) {
    if (!isMac(known) || normalizeMac(known) !== mac) continue;
    if (
      target && target.node !== node && event.action === "add" && event.at >= target.since &&
      bayOf(map, target.node)?.lan && !table.has(target.node)
    ) {
      return {
        kind: "conflict",
        node: target.node,
        mac,
        ip,
        reason: "mac_owned_by_other_bay",
        existingMac: mac,
        owner: node,
      };
    }
    return { kind: "known", node, mac, ip };
  }
  if (!target) return { kind: "unknown", mac, ip, reason: "no bay is waiting to be learned" };
  const bay = bayOf(map, target.node);
  if (!bay) return { kind: "unknown", mac, ip, reason: `node ${target.node} does not exist` };
  if (!bay.lan) {
    return { kind: "unknown", mac, ip, reason: `node ${bay.id} is a WiFi bay, not on the LAN` };
  }
  if (event.action !== "add" && !inLearningRange(map, learningRange, ip)) {
    return { kind: "unknown", mac, ip, reason: "renewal outside the learning range" };
  }
  // Lease events carry whole seconds: compare at that resolution, so an add in the same
  // second as the power-on is not mistaken for an older one.
  if (event.at < Math.floor(target.since / 1000) * 1000) {
    return { kind: "unknown", mac, ip, reason: `lease is older than node ${bay.id}'s power-on` };
  }
  // Whole seconds again: only an event in a second that began after every other bay without
  // a MAC went off is surely not theirs.
  if (target.othersOffSince !== undefined && event.at < target.othersOffSince) {
    return {
      kind: "unknown",
      mac,
      ip,
      reason: `another bay without a MAC was on when it asked, not only node ${bay.id}`,
    };
  }
  const existing = table.get(bay.id);
  if (existing !== undefined) {
    return {
      kind: "conflict",
      node: bay.id,
      mac,
      ip,
      reason: "bay_has_other_mac",
      existingMac: existing,
    };
  }
  return { kind: "learn", node: bay.id, mac, ip };
}

/**
 * Carries out a decision: `learn` sets the table and emits `mac_learned`; `conflict` emits
 * `mac_conflict` and changes nothing; the rest emit nothing. Returns true when the table changed.
 */
export function applyDecision(
  map: NodeMap,
  d: LearnDecision,
  table: MacTable,
  emit: EventSink,
): boolean {
  if (d.kind === "learn") {
    const bay = bayOf(map, d.node)!;
    table.set(d.node, d.mac);
    emit("mac_learned", d.node, `learned MAC ${d.mac} for ${bay.hostname} (${bay.ip})`, {
      mac: d.mac,
      leaseIp: d.ip,
      ip: bay.ip,
    });
    return true;
  }
  if (d.kind === "conflict" && d.reason === "mac_owned_by_other_bay") {
    emit(
      "mac_conflict",
      d.node,
      `node ${d.node} was powered on and MAC ${d.mac} asked for a new lease, but that MAC ` +
        `belongs to node ${d.owner}; not changed (moved Pi? clear node ${d.owner}'s MAC)`,
      { mac: d.mac, owner: d.owner, leaseIp: d.ip, reason: d.reason },
    );
  } else if (d.kind === "conflict") {
    emit(
      "mac_conflict",
      d.node,
      `node ${d.node} was powered on and a new MAC ${d.mac} appeared, but node ${d.node} ` +
        `already has MAC ${d.existingMac}; not changed (clear its MAC to re-learn)`,
      { mac: d.mac, existingMac: d.existingMac, leaseIp: d.ip, reason: d.reason },
    );
  }
  return false;
}
