/**
 * Held heartbeat replies (a long poll): an agent that sends `holdMs` lets the hub keep its
 * answer up to that long, so that a change it would be told (a new LED mode) reaches it as soon
 * as it happens instead of with the next heartbeat's answer.
 *
 * The heartbeat is ingested before anything waits; only the answer is held. A held answer goes:
 * - at once, when it already tells the agent something it does not show (`tellsAgent`);
 * - when what it would say changes (a node update re-reads it);
 * - after `holdMs`;
 * - when the client goes away (the request's signal);
 * - when a newer heartbeat of the same node comes (at most one held answer per node);
 * - when the hub shuts down (`close`, `drain`: a held answer never delays a restart).
 */
import type { Clock } from "../../shared/clock.ts";
import type { HeartbeatReply, LedMode } from "../../shared/schemas.ts";

/** Why a held reply went when it did. */
export type Release = "at_once" | "changed" | "timeout" | "gone" | "superseded" | "shutdown";

/** The LED mode a reply asks of the agent (null: the agent's own, the heartbeat pattern). */
function wantedLed(reply: HeartbeatReply): LedMode {
  return reply.led ?? "heartbeat";
}

/**
 * Whether `reply` tells an agent that shows `shown` something new, so that it must go at once
 * (the interval is not reported by the agent: it changes only with the hub's settings).
 */
export function tellsAgent(shown: LedMode, reply: HeartbeatReply): boolean {
  return wantedLed(reply) !== shown;
}

/** Whether two replies say the same. */
export function sameReply(a: HeartbeatReply, b: HeartbeatReply): boolean {
  return a.node === b.node && a.led === b.led && a.intervalMs === b.intervalMs;
}

/** What the held-reply registry needs. */
export interface HeldRepliesDeps {
  clock: Clock;
  /** Subscribes to "node N changed" (the tracker's node updates); returns the unsubscribe. */
  subscribe: (listener: (node: number) => void) => () => void;
}

interface Held {
  /** Re-reads the reply; releases the hold when it says something else now. */
  check(): void;
  release(why: Release): void;
}

/** The replies held now, at most one per node. */
export class HeldReplies {
  readonly #clock: Clock;
  readonly #held = new Map<number, Held>();
  readonly #unsubscribe: () => void;
  /** Answers of held heartbeats not yet delivered (see `drain`). */
  readonly #answering = new Set<Promise<unknown>>();
  #closed = false;

  constructor(deps: HeldRepliesDeps) {
    this.#clock = deps.clock;
    this.#unsubscribe = deps.subscribe((node) => this.#held.get(node)?.check());
  }

  /** How many replies are held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Answers node `node`'s heartbeat, whose agent shows LED mode `shown`: the reply `current()`
   * gives once it tells the agent something new, or at the latest after `holdMs` (0: at once).
   * Ends early when `opts.signal` aborts (the client went away). `opts.delivered` settles
   * once the answer is written (the server's `completed`): `drain` waits for it. Never
   * rejects, except where `current()` throws.
   */
  async hold(
    node: number,
    shown: LedMode,
    holdMs: number,
    current: () => HeartbeatReply,
    opts: { signal?: AbortSignal; delivered?: Promise<unknown> } = {},
  ): Promise<{ reply: HeartbeatReply; release: Release }> {
    const { signal, delivered } = opts;
    const first = { ...current() };
    this.#held.get(node)?.release("superseded");
    if (holdMs <= 0 || this.#closed || signal?.aborted || tellsAgent(shown, first)) {
      return { reply: first, release: "at_once" };
    }
    if (delivered) {
      this.#answering.add(delivered);
      const done = () => this.#answering.delete(delivered);
      delivered.then(done, done);
    }
    const stop = new AbortController();
    let release: Release = "timeout";
    const end = (why: Release) => {
      if (stop.signal.aborted) return;
      release = why;
      stop.abort();
    };
    const held: Held = {
      check: () => {
        if (!sameReply(first, current())) end("changed");
      },
      release: end,
    };
    const gone = () => end("gone");
    this.#held.set(node, held);
    signal?.addEventListener("abort", gone, { once: true });
    try {
      await this.#clock.sleep(holdMs, stop.signal);
    } finally {
      signal?.removeEventListener("abort", gone);
      if (this.#held.get(node) === held) this.#held.delete(node);
    }
    return { reply: current(), release };
  }

  /** Answers every held reply at once and holds no more (the hub is stopping). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const held of [...this.#held.values()]) held.release("shutdown");
  }

  /**
   * `close`, then waits (at most `limitMs`) until the answers it released are written: a
   * server stopped before that would cut them off.
   */
  async drain(limitMs = 500): Promise<void> {
    this.close();
    if (this.#answering.size === 0) return;
    const timer = new AbortController();
    await Promise.race([
      // `completed` settles a turn before the server has flushed the bytes (measured: a server
      // stopped at once still cut them off); one macrotask later they are out.
      Promise.allSettled([...this.#answering]).then(() => new Promise((r) => setTimeout(r, 0))),
      this.#clock.sleep(limitMs, timer.signal),
    ]);
    timer.abort();
  }
}
