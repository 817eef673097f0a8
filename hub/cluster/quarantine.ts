/**
 * Quarantined nodes: a node whose boot failed every recovery attempt is `fault`, names the
 * stage where it stopped, asks its agent (if it reports) to show the fault LED, and is left
 * out of bulk runs until an operator clears it (`cm node clear N`). Stored, so a restarted
 * hub keeps it out too.
 */
import type { Quarantine } from "../../shared/boot_schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import { bayOf, type NodeMap } from "../../shared/node_map.ts";
import { formatNodeSet } from "../../shared/range.ts";
import type { EventLog } from "../events/event_log.ts";
import type { Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";

const KEY = "boot.quarantine";

/** What the quarantine list needs. */
export interface QuarantineDeps {
  map: NodeMap;
  store: Store;
  tracker: NodeTracker;
  events: EventLog;
}

/** The quarantined nodes. */
export class QuarantineList {
  readonly #d: QuarantineDeps;
  readonly #rows: Map<number, Quarantine>;

  constructor(deps: QuarantineDeps) {
    this.#d = deps;
    const stored = deps.store.getSetting<Record<string, Quarantine>>(KEY) ?? {};
    this.#rows = new Map(
      Object.entries(stored).map(([k, v]) => [Number(k), v] as [number, Quarantine])
        .filter(([n]) => bayOf(deps.map, n) !== undefined),
    );
    for (const [node, q] of this.#rows) deps.tracker.setQuarantine(node, q);
  }

  /** A node's quarantine, or null. */
  get(node: number): Quarantine | null {
    return this.#rows.get(node) ?? null;
  }

  /** Every quarantined node, in id order. */
  nodes(): number[] {
    return [...this.#rows.keys()].sort((a, b) => a - b);
  }

  /** Quarantines `node` (event `quarantined`). */
  set(node: number, q: Quarantine): void {
    this.#rows.set(node, q);
    this.#persist();
    this.#d.tracker.setQuarantine(node, q);
    this.#d.events.emit(
      "quarantined",
      node,
      `node ${node} quarantined: ${q.reason}; bulk runs skip it until: cm node clear ${node}`,
      { ...q },
    );
  }

  /** Clears `node`'s quarantine (409 if it has none). */
  clear(node: number): Quarantine {
    const q = this.#rows.get(node);
    if (!q) throw new ClusterError("conflict", `node ${node} is not quarantined`);
    this.#rows.delete(node);
    this.#persist();
    this.#d.tracker.setQuarantine(node, null);
    this.#d.events.emit("quarantine_cleared", node, `node ${node} cleared from quarantine`, {
      stage: q.stage,
    });
    return q;
  }

  /** Splits `ids` into those a bulk run may switch and the quarantined ones it skips. */
  split(ids: readonly number[]): { run: number[]; skipped: number[] } {
    return {
      run: ids.filter((id) => !this.#rows.has(id)),
      skipped: ids.filter((id) => this.#rows.has(id)),
    };
  }

  /** Refuses a bulk run whose every node is quarantined. */
  assertSomeLeft(ids: readonly number[]): void {
    const { run, skipped } = this.split(ids);
    if (run.length === 0 && skipped.length > 0) {
      throw new ClusterError(
        "conflict",
        `node${skipped.length > 1 ? "s" : ""} ${formatNodeSet(skipped)} ${
          skipped.length > 1 ? "are" : "is"
        } quarantined; clear with: cm node clear N`,
      );
    }
  }

  #persist(): void {
    this.#d.store.setSetting(KEY, Object.fromEntries(this.#rows));
  }
}
