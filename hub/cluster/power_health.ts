/**
 * Power health from the nodes: the firmware's throttling flags each agent reports, per bay
 * and per BitBar. Under-voltage on several bays of one BitBar points at that BitBar's supply,
 * not at one Pi. The report is a pure function of the node statuses; the watch turns changes
 * into events (`throttling_changed` per bay, `bus_undervoltage` when a BitBar turns suspect
 * or recovers).
 */
import { bayAt, type NodeMap } from "../../shared/node_map.ts";
import type { NodeStatus, PowerHealthReport } from "../../shared/schemas.ts";
import { decodeThrottled, describeThrottled } from "../../shared/throttled.ts";
import type { EventLog } from "../events/event_log.ts";

/** Bays of one BitBar that must report under-voltage (now or since boot) to suspect its supply. */
export const SUSPECT_BAYS = 2;

/** A bay's under-voltage, now or since boot. */
function underVolted(raw: number): boolean {
  const f = decodeThrottled(raw);
  return f.underVoltage || f.underVoltageOccurred;
}

/** The per-bay and per-BitBar view of the reported flags. */
export function powerHealthReport(nodes: readonly NodeStatus[]): PowerHealthReport {
  const bays = nodes.flatMap((n) => {
    const raw = n.agent?.health.throttled;
    if (raw === undefined || raw === null) return [];
    const f = decodeThrottled(raw);
    return [{
      node: n.id,
      bus: n.bus,
      throttled: raw,
      description: describeThrottled(raw),
      underVoltage: f.underVoltage,
      underVoltageOccurred: f.underVoltageOccurred,
      freqCapped: f.freqCapped,
      throttledNow: f.throttled,
      softTempLimit: f.softTempLimit,
    }];
  });
  const busIds = [...new Set(nodes.map((n) => n.bus))].sort((a, b) => a - b);
  const buses = busIds.map((bus) => {
    const on = bays.filter((b) => b.bus === bus);
    const now = on.filter((b) => b.underVoltage).map((b) => b.node);
    const ever = on.filter((b) => underVolted(b.throttled)).map((b) => b.node);
    return {
      bus,
      reporting: on.map((b) => b.node),
      underVoltageNow: now,
      underVoltageSinceBoot: on.filter((b) => b.underVoltageOccurred).map((b) => b.node),
      suspect: ever.length >= SUSPECT_BAYS,
    };
  });
  return { bays, buses };
}

/** Watches reported flags and emits an event whenever a bay's flags or a BitBar's verdict change. */
export class PowerHealthWatch {
  readonly #map: NodeMap;
  readonly #events: EventLog;
  /** The last mask each bay reported while on. */
  readonly #last = new Map<number, number>();
  readonly #suspect = new Set<number>();

  readonly #unsubscribe: (() => void)[];

  /** Follows power events and the flags in node updates (heartbeats) on `events`. */
  constructor(map: NodeMap, events: EventLog) {
    this.#map = map;
    this.#events = events;
    this.#unsubscribe = [
      events.subscribe((e) => {
        if (e.type === "power_changed" && e.node !== null && e.data.to === "off") {
          this.forget(e.node);
        }
      }),
      events.subscribeNodes((u) => this.observe(u.node, u.changes.agent?.health?.throttled)),
    ];
  }

  /** Stops following the event log. */
  close(): void {
    for (const off of this.#unsubscribe) off();
  }

  /** A heartbeat's flags (undefined/null: the agent does not tell, nothing changes). */
  observe(node: number, raw: number | null | undefined): void {
    if (raw === undefined || raw === null) return;
    const before = this.#last.get(node);
    if (before === raw) return;
    this.#last.set(node, raw);
    // A first report of "all clear" is not news; anything else, and any change, is.
    if (before !== undefined || raw !== 0) {
      this.#events.emit(
        "throttling_changed",
        node,
        `node ${node} power: ${describeThrottled(raw)}`,
        { raw, previous: before ?? null, flags: decodeThrottled(raw) },
      );
    }
    this.#judge(bayAt(this.#map, node).bus);
  }

  /** A bay switched off: its flags go with its agent. */
  forget(node: number): void {
    if (!this.#last.delete(node)) return;
    this.#judge(bayAt(this.#map, node).bus);
  }

  #judge(bus: number): void {
    const bays = this.#map.bays.filter((b) => b.bus === bus).map((b) => b.id);
    const under = bays.filter((n) => {
      const raw = this.#last.get(n);
      return raw !== undefined && underVolted(raw);
    });
    const suspect = under.length >= SUSPECT_BAYS;
    if (suspect === this.#suspect.has(bus)) return;
    if (suspect) this.#suspect.add(bus);
    else this.#suspect.delete(bus);
    this.#events.emit(
      "bus_undervoltage",
      null,
      suspect
        ? `BitBar ${bus}: under-voltage on nodes ${
          under.join(", ")
        }: check this BitBar's power supply`
        : `BitBar ${bus}: no more than one bay under-volts now`,
      { bus, suspect, nodes: under },
    );
  }
}
