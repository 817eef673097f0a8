/**
 * The heartbeat pass's schedule, pure: passes fall on a grid (`anchor + k × passMs`, the
 * kernel LED engine's restarts), and at each pass the agent collects the answer to the
 * heartbeat it sent before, if it is there, and sends the next one when due. One heartbeat at
 * a time: an answer not there by the next pass is waited for at the passes after, until the
 * timeout. Times are the passes' nominal instants (grid instants), so a pass a little late
 * counts as its own.
 */

import { MAX_HOLD_MS } from "../shared/wire_schemas.ts";

/**
 * How long before the next pass a held answer must be sent (see {@link passHoldMs}): room for
 * the hub's hold timer firing late and its event loop stalling (a loaded hub on a Pi: GC,
 * store writes), and for the LAN. An answer that missed its pass would hold back the next
 * heartbeat by a whole pass (one heartbeat at a time).
 */
export const HOLD_MARGIN_MS = 300;

/**
 * The `holdMs` a heartbeat pass asks of the hub: its answer lands before the next pass with
 * {@link HOLD_MARGIN_MS} to spare, and at most the wire's cap (1000 ms). A mode asked of the
 * hub then reaches the LED at most `2 × passMs − holdMs` after it was asked (1.3 s with 1 s
 * passes): held, it is answered at once and read at the next pass; after the hold ended, the
 * next heartbeat's answer carries it and is read a pass later.
 */
export function passHoldMs(passMs: number): number {
  return Math.max(0, Math.min(MAX_HOLD_MS, Math.floor(passMs - HOLD_MARGIN_MS)));
}

/** Where the exchange with the hub is, and when the next heartbeat and pass fall due. */
export class PassSchedule {
  readonly #anchor: number;
  readonly #passMs: number;
  #sentAt: number | undefined;
  #sendAt: number;

  /** `anchor`: the first pass (a heartbeat is due there); `passMs`: the grid's step. */
  constructor(anchor: number, passMs: number) {
    if (!(passMs > 0)) throw new RangeError(`passMs must be positive, not ${passMs}`);
    this.#anchor = anchor;
    this.#passMs = passMs;
    this.#sendAt = anchor;
  }

  /** True while a heartbeat sent waits for its answer. */
  get waiting(): boolean {
    return this.#sentAt !== undefined;
  }

  /** When the next heartbeat is due (once the one waiting is answered or failed). */
  get sendAt(): number {
    return this.#sendAt;
  }

  /** The first pass strictly after `t`. */
  nextPass(t: number): number {
    return this.#slotAfter(t, this.#passMs);
  }

  /** Whether the pass at `at` sends a heartbeat. */
  dueToSend(at: number): boolean {
    return !this.waiting && at >= this.#sendAt;
  }

  /** Whether the heartbeat waiting has gone unanswered for `timeoutMs` by the pass at `at`. */
  timedOut(at: number, timeoutMs: number): boolean {
    return this.#sentAt !== undefined && at - this.#sentAt >= timeoutMs;
  }

  /** A heartbeat went out at the pass at `at`. */
  sent(at: number): void {
    this.#sentAt = at;
  }

  /**
   * Its answer came: the next heartbeat is due at the first slot of the hub's interval
   * (`anchor + k × intervalMs`) after the one answered was sent.
   */
  answered(intervalMs: number): void {
    const sentAt = this.#sentAt ?? this.#sendAt;
    this.#sentAt = undefined;
    this.#sendAt = this.#slotAfter(sentAt, intervalMs);
  }

  /** The heartbeat failed (or could not be sent) at the pass at `at`: retry after `delayMs`. */
  failed(at: number, delayMs: number): void {
    this.#sentAt = undefined;
    this.#sendAt = at + delayMs;
  }

  /** The first `anchor + k × step` strictly after `t`. */
  #slotAfter(t: number, step: number): number {
    const slot = this.#anchor + (Math.floor((t - this.#anchor) / step) + 1) * step;
    return slot > t ? slot : slot + step; // float rounding
  }
}
