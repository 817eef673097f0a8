/**
 * MAC learning: the `macs learn` run, the table netboot reads and writes learned MACs
 * through, and the rule for which booting bay a new DHCP request belongs to.
 */
import type { Clock } from "../../../shared/clock.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { bayAt, nodeIds, type NodeMap } from "../../../shared/node_map.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import type { Job } from "../../../shared/schemas.ts";
import type { EventLog } from "../../events/event_log.ts";
import { throwIfCancelled } from "../../jobs/job_runner.ts";
import type { Store } from "../../store/store.ts";
import type { NodeTracker } from "../node_tracker.ts";
import type { PowerControl } from "../power_control.ts";

/** Learned MACs by node, as netboot reads and writes them. */
export interface MacStore {
  all(): Map<number, string>;
  set(node: number, mac: string): void;
  /** The node whose learned MAC this is, if any. */
  nodeOf(mac: string): number | undefined;
}

/** What MAC learning needs. */
export interface MacLearningDeps {
  map: NodeMap;
  store: Store;
  events: EventLog;
  clock: Clock;
  tracker: NodeTracker;
  power: PowerControl;
}

/** Learns which MAC is in which bay. */
export class MacLearning {
  readonly #d: MacLearningDeps;
  /** The learned MACs, stored per node. */
  readonly table: MacStore;
  /** The bay a `macs learn` run powered on alone and waits for, while it waits. */
  #waitingFor: { node: number; since: number } | null = null;

  constructor(deps: MacLearningDeps) {
    this.#d = deps;
    const { store, map, tracker } = deps;
    this.table = {
      all: () => new Map(store.nodes(nodeIds(map)).filter((r) => r.mac).map((r) => [r.id, r.mac!])),
      set: (node, mac) => {
        store.updateNode(node, { mac });
        tracker.recordChanged(node);
      },
      nodeOf: (mac) => {
        for (const [node, m] of this.table.all()) if (m === mac) return node;
        return undefined;
      },
    };
  }

  /**
   * The bay a new MAC seen in a DHCP request belongs to: the one a `macs learn` run powered
   * and waits for; otherwise, only when exactly one bay without a MAC is booting and no other
   * LAN bay without a MAC has its rail on (a running node may reboot by itself), nor had it
   * on when the request came (`othersOffSince`: requests are read some time after): never
   * guess between two.
   */
  learningTarget(): { node: number; since: number; othersOffSince?: number } | null {
    const { map, tracker, store, clock } = this.#d;
    if (this.#waitingFor && store.node(this.#waitingFor.node).mac === null) {
      return this.#waitingFor;
    }
    const waiting = map.bays.filter((b) =>
      tracker.get(b.id).lifecycle === "booting" && store.node(b.id).mac === null
    );
    if (waiting.length !== 1) return null;
    const node = waiting[0].id;
    let othersOffSince = 0;
    for (const b of map.bays) {
      if (b.id === node || !b.lan || store.node(b.id).mac !== null) continue;
      const other = tracker.get(b.id);
      if (other.actual === "on") return null;
      othersOffSince = Math.max(othersOffSince, other.offSince ?? 0);
    }
    return {
      node,
      since: Math.floor(tracker.get(node).poweredOnAt ?? clock.now()),
      othersOffSince,
    };
  }

  /**
   * `macs learn`: the control plane powers bays one at a time so the hub can tell which bay a
   * new MAC belongs to. Bays without a MAC in `ids` are switched off, then each is switched on
   * alone and the job waits (up to `timeoutMs`) for its DHCP request to be learned. Bays that
   * already have a MAC are skipped. A learned bay is left on, booting (what learning is for);
   * a bay that gave no DHCP request is switched off after its turn, so that the next bay is the
   * only one booting without a MAC, and at the end put back as it was (on if it was on).
   */
  learn(ids: readonly number[], timeoutMs: number): Job {
    const { power, store, map } = this.#d;
    power.assertIdle();
    const todo = ids.filter((id) => store.node(id).mac === null && bayAt(map, id).lan);
    if (todo.length === 0) {
      throw new ClusterError(
        "conflict",
        `every LAN bay in ${formatNodeSet(ids)} already has a MAC`,
      );
    }
    const wasOn = new Set(todo.filter((id) => this.#d.tracker.get(id).actual === "on"));
    return power.startOwned("maclearn", todo, formatNodeSet(todo), todo.length, async (h) => {
      const { clock, events } = this.#d;
      await power.applyPower(todo, "off");
      const learned: number[] = [];
      const missed: number[] = [];
      for (const [i, id] of todo.entries()) {
        throwIfCancelled(h.signal, "MAC learning", { learned, missed });
        let wake = () => {};
        const unsubscribe = events.subscribe((e) => {
          if (e.type === "mac_learned" && e.node === id) wake();
        });
        try {
          const seen = new Promise<void>((r) => (wake = r));
          await power.applyPower([id], "on");
          const since = this.#d.tracker.get(id).poweredOnAt ?? clock.now();
          this.#waitingFor = { node: id, since: Math.floor(since) };
          const ac = new AbortController();
          const stop = () => ac.abort();
          h.signal.addEventListener("abort", stop, { once: true });
          await Promise.race([seen, clock.sleep(timeoutMs, ac.signal)]);
          ac.abort();
          h.signal.removeEventListener("abort", stop);
        } finally {
          this.#waitingFor = null;
          unsubscribe();
        }
        const mac = store.node(id).mac;
        (mac ? learned : missed).push(id);
        if (!mac) await power.applyPower([id], "off");
        h.progress(
          i + 1,
          todo.length,
          mac ? `node ${id} is ${mac}` : `node ${id}: no DHCP request`,
        );
      }
      const restore = missed.filter((id) => wasOn.has(id));
      if (restore.length) await power.applyPower(restore, "on");
      const summary = `learned ${learned.length} of ${todo.length}` +
        (missed.length ? `; no DHCP request from ${formatNodeSet(missed)}` : "") +
        (restore.length ? `; back on as before: ${formatNodeSet(restore)}` : "");
      const report = { learned, missed, summary, lines: [] as string[] };
      if (missed.length) throw new ClusterError("not_ready", summary, report);
      return report;
    });
  }
}
