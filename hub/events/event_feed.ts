/**
 * A resumable, bounded feed of the hub's events for one client (SSE stream or WebSocket).
 *
 * The store is the source of truth; the live subscription is only a cache in front of it.
 * The feed keeps a cursor (the last id handed out): it first replays stored events after the
 * cursor page by page, then hands out live ones. Every event goes out once, in id order, with
 * no gap. If the client falls behind by more than `maxPending` live events, the cache is
 * dropped and the feed goes back to reading the store from its cursor, so a slow client costs
 * at most `maxPending` events of memory and still loses nothing the store still holds.
 *
 * With `nodeUpdates`, the feed also hands out node updates (`node_updated`). They are live
 * only (not stored, so not replayed); while the client has not taken them, the updates of one
 * node merge into one, so a slow client costs at most one pending update per node.
 */
import type { ClusterEvent, NodeUpdate } from "../../shared/schemas.ts";
import { applyNodeChanges } from "../../shared/node_update.ts";
import type { EventLog } from "./event_log.ts";

/** Feed tuning. */
export interface EventFeedOptions {
  /** Live events held for a client before it is served from the store instead. */
  maxPending?: number;
  /** Events read from the store per page while catching up. */
  pageSize?: number;
  /** Also hand out node updates (default false: events only). */
  nodeUpdates?: boolean;
}

/** One client's cursor over the event log. */
export class EventFeed {
  readonly #events: EventLog;
  readonly #maxPending: number;
  readonly #pageSize: number;
  #cursor: number;
  #pending: ClusterEvent[] = [];
  /** Node updates not taken yet, one (merged) per node. */
  readonly #updates = new Map<number, NodeUpdate>();
  /** True while the feed must read the store (startup, or after the cache overflowed). */
  #catchingUp = true;
  #wake: (() => void) | null = null;
  #closed = false;
  /** Newest event id seen (stored before the feed started, or live since). */
  #newest: number;
  readonly #unsubscribe: (() => void)[];
  /** How often the live cache overflowed (the client was served from the store instead). */
  overflows = 0;

  /** `after`: the last event id the client has; null means "only what happens from now on". */
  constructor(events: EventLog, after: number | null, opts: EventFeedOptions = {}) {
    this.#events = events;
    this.#maxPending = opts.maxPending ?? 1000;
    this.#pageSize = opts.pageSize ?? 200;
    const newest = events.latest(1).at(-1)?.id ?? 0;
    // An id from the future (e.g. remembered from before the data directory was reset) would
    // filter out every event: resume from the newest one instead.
    this.#cursor = after === null || after > newest ? newest : after;
    this.#newest = newest;
    this.#unsubscribe = [events.subscribe((e) => this.#onEvent(e))];
    if (opts.nodeUpdates) {
      this.#unsubscribe.push(events.subscribeNodes((u) => this.#onUpdate(u)));
    }
  }

  #onUpdate(update: NodeUpdate): void {
    if (this.#closed) return;
    const had = this.#updates.get(update.node);
    this.#updates.set(
      update.node,
      had ? { ...update, changes: applyNodeChanges(had.changes, update.changes) } : update,
    );
    this.#wake?.();
  }

  /** The node updates not taken yet, one per node, without waiting; empty when none. */
  takeUpdates(): NodeUpdate[] {
    if (this.#updates.size === 0) return [];
    const out = [...this.#updates.values()];
    this.#updates.clear();
    return out;
  }

  /** How many event ids the client is behind the newest event. */
  get lag(): number {
    return Math.max(0, this.#newest - this.#cursor);
  }

  /**
   * Gives up on the events between the cursor and the newest one (a hopelessly slow
   * client): the cursor jumps to the newest event. Returns how many ids were skipped.
   */
  skipToNewest(): { count: number; lastId: number } {
    const count = this.lag;
    this.#cursor = this.#newest;
    this.#pending = [];
    this.#catchingUp = false;
    return { count, lastId: this.#newest };
  }

  /** Id of the last event handed out (the client's resume point). */
  get cursor(): number {
    return this.#cursor;
  }

  /** Live events waiting in memory. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  #onEvent(event: ClusterEvent): void {
    if (event.id > this.#newest) this.#newest = event.id;
    if (this.#closed || this.#catchingUp) {
      this.#wake?.();
      return;
    }
    this.#pending.push(event);
    if (this.#pending.length > this.#maxPending) {
      this.#pending = [];
      this.#catchingUp = true;
      this.overflows++;
    }
    this.#wake?.();
  }

  /**
   * The next events after the cursor, without waiting: a page from the store while catching
   * up, else the cached live events. Advances the cursor. Empty when there is nothing new.
   */
  take(): ClusterEvent[] {
    if (this.#closed) return [];
    if (this.#catchingUp) {
      const page = this.#events.after(this.#cursor, this.#pageSize);
      if (page.length > 0) {
        this.#cursor = page[page.length - 1].id;
        return page;
      }
      // Caught up. emit() is synchronous, so no event can slip in between this read and the
      // switch to live mode: the next event reaches #onEvent with #catchingUp false.
      this.#catchingUp = false;
      this.#pending = [];
      return [];
    }
    // A listener that emits from inside emit() (the boot monitor answers power_changed with
    // boot_stage) makes the newer event arrive first: hand them out in id order.
    const out = this.#pending.filter((e) => e.id > this.#cursor).sort((a, b) => a.id - b.id);
    this.#pending = [];
    if (out.length > 0) this.#cursor = out[out.length - 1].id;
    return out;
  }

  /**
   * Waits until new events may be available or the feed closes (true), or `timeoutMs`
   * passes with nothing new (false).
   */
  waitForMore(timeoutMs: number): Promise<boolean> {
    if (this.#closed || this.#catchingUp || this.#pending.length > 0 || this.#updates.size > 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        if (this.#wake === wake) this.#wake = null;
        resolve(woken);
      };
      const wake = () => finish(true);
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#wake = wake;
    });
  }

  /** Unsubscribes and releases the cache; pending waits resolve. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#updates.clear();
    for (const off of this.#unsubscribe) off();
    this.#wake?.();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
