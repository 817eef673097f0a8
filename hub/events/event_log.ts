/**
 * The hub's one event stream: every event is stored (so it survives restart and can be
 * resumed by id) and handed to live subscribers (SSE, WebSocket, metrics). Beside the events
 * run node updates (`node_updated`: what changed in a node, heartbeats included): handed to
 * their subscribers only, never stored or numbered.
 */
import type { Clock } from "../../shared/clock.ts";
import type { ClusterEvent, EventType, NodeUpdate } from "../../shared/schemas.ts";
import { isStoreFull, type Store } from "../store/store.ts";

/** Receives each event as it is appended. */
export type EventListener = (event: ClusterEvent) => void;

/** Receives each node update as it is published. */
export type NodeUpdateListener = (update: NodeUpdate) => void;

/** Append-only event log with live subscribers. */
export class EventLog {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #listeners = new Set<EventListener>();
  readonly #nodeListeners = new Set<NodeUpdateListener>();
  /** Count of events appended per type since start (for metrics). */
  readonly counts = new Map<EventType, number>();
  /** Events that could not be stored (disk full) and were dropped, since start. */
  unstored = 0;
  #closed = false;
  readonly #module?: string;

  /** `module`: stamped on every event (which hub of a fleet it comes from). */
  constructor(store: Store, clock: Clock, module?: string) {
    this.#store = store;
    this.#clock = clock;
    this.#module = module;
  }

  #stamp(e: ClusterEvent): ClusterEvent {
    return this.#module === undefined ? e : { ...e, module: this.#module };
  }

  /** Records an event and notifies subscribers. */
  emit(
    type: EventType,
    node: number | null,
    message: string,
    data: Record<string, unknown> = {},
  ): ClusterEvent {
    if (this.#closed) {
      // The hub is stopping and the store is closed: late events (from timers or jobs being
      // abandoned) are dropped rather than thrown into code that cannot handle them.
      return this.#stamp({ id: 0, at: Math.round(this.#clock.now()), type, node, message, data });
    }
    let event: ClusterEvent;
    try {
      event = this.#stamp(
        this.#store.appendEvent({ at: this.#clock.now(), type, node, message, data }),
      );
    } catch (e) {
      if (!isStoreFull(e)) throw e;
      // A full disk: the event cannot be kept or numbered. What emitted it (a heartbeat, a
      // timer, a job) goes on; the loss is counted (/metrics) and /health says degraded.
      this.unstored++;
      return this.#stamp({ id: 0, at: Math.round(this.#clock.now()), type, node, message, data });
    }
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        console.error(`event listener failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    return event;
  }

  /**
   * Hands a node update to the node-update subscribers (live only: a client that was not
   * subscribed reads the node's status instead).
   */
  publish(update: NodeUpdate): void {
    if (this.#closed) return;
    for (const listener of this.#nodeListeners) {
      try {
        listener(update);
      } catch (e) {
        console.error(`node update listener failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  /** Subscribes to node updates; returns the unsubscribe function. */
  subscribeNodes(listener: NodeUpdateListener): () => void {
    this.#nodeListeners.add(listener);
    return () => this.#nodeListeners.delete(listener);
  }

  /** Number of live subscribers (SSE clients, sockets, watchers). */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Stops recording (before the store closes). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#nodeListeners.clear();
  }

  /** Subscribes to new events; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stored events after `afterId` (for resume), oldest first. */
  after(afterId: number, limit = 1000): ClusterEvent[] {
    return this.#store.eventsAfter(afterId, limit).map((e) => this.#stamp(e));
  }

  /** The newest `limit` stored events, oldest first. */
  latest(limit = 100): ClusterEvent[] {
    return this.#store.latestEvents(limit).map((e) => this.#stamp(e));
  }
}
