/**
 * Keeps each bay's last-heard time across hub restarts: restores the stored times into the
 * tracker at start, then writes the times that changed every {@link LAST_SEEN_FLUSH_MS} (one
 * transaction for all bays, not a write per heartbeat: the store sits on an SD card) and once
 * more when the hub stops. After a crash the restored time is at most one period old.
 */
import type { Clock } from "../../shared/clock.ts";
import { bayOf, type NodeMap } from "../../shared/node_map.ts";
import { isStoreFull, type Store } from "../store/store.ts";
import type { NodeTracker } from "./node_tracker.ts";
import { backgroundFailed } from "../process_faults.ts";

/** How often changed last-heard times are written, ms. */
export const LAST_SEEN_FLUSH_MS = 10_000;

/** What the keeper needs. */
export interface LastSeenDeps {
  store: Store;
  tracker: NodeTracker;
  clock: Clock;
  map: NodeMap;
  /** Write period, ms (default {@link LAST_SEEN_FLUSH_MS}). */
  flushEveryMs?: number;
}

/** Persists `NodeTracker`'s `lastSeenAt` per bay. */
export class LastSeenKeeper {
  readonly #store: Store;
  readonly #tracker: NodeTracker;
  readonly #clock: Clock;
  readonly #map: NodeMap;
  readonly #everyMs: number;
  /** What the store holds, node → ms. */
  readonly #stored = new Map<number, number>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(deps: LastSeenDeps) {
    this.#store = deps.store;
    this.#tracker = deps.tracker;
    this.#clock = deps.clock;
    this.#map = deps.map;
    this.#everyMs = deps.flushEveryMs ?? LAST_SEEN_FLUSH_MS;
  }

  /** Hands the stored times to the tracker and starts the periodic write. */
  start(): void {
    for (const [node, at] of this.#store.lastSeen()) {
      if (!bayOf(this.#map, node)) continue; // a bay of a larger module
      this.#stored.set(node, at);
      this.#tracker.restoreLastSeen(node, at);
    }
    if (this.#loop) return;
    this.#loop = (async () => {
      while (!this.#stop.signal.aborted) {
        await this.#clock.sleep(this.#everyMs, this.#stop.signal);
        if (!this.#stop.signal.aborted) this.#tryFlush();
      }
    })().catch(backgroundFailed("last-heard writer"));
  }

  /** Writes every time that changed since the last write; returns how many. */
  flush(): number {
    const changed = new Map<number, number>();
    for (const { id } of this.#map.bays) {
      const at = this.#tracker.get(id).lastSeenAt;
      if (at === null) continue;
      const rounded = Math.round(at);
      if (this.#stored.get(id) !== rounded) changed.set(id, rounded);
    }
    this.#store.saveLastSeen(changed);
    for (const [id, at] of changed) this.#stored.set(id, at);
    return changed.size;
  }

  /** A flush that outlives a full disk: the times stay in memory and go at the next one. */
  #tryFlush(): void {
    try {
      this.flush();
    } catch (e) {
      if (!isStoreFull(e)) throw e;
    }
  }

  /** Stops the periodic write and writes what is left (call before the store closes). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#tryFlush();
  }
}
