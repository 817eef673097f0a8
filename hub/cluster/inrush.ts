/**
 * Inrush limiting for the whole module: at most `perBus` rails per BitBar and `perStep` rails
 * in all may switch on within any `stepMs` window, whichever job or request asks. The
 * decision is a pure function (`admit`); `InrushLimiter` applies it over time with a Clock.
 */
import type { Clock } from "../../shared/clock.ts";
import { backgroundFailed } from "../process_faults.ts";

/** The limits. */
export interface InrushLimits {
  perBus: number;
  perStep: number;
  stepMs: number;
}

/** A switch-on granted at `at` on `bus`. */
export interface Grant {
  at: number;
  bus: number;
}

/** What `admit` decides: the requests granted and the bus to continue after next time. */
export interface Admission {
  /** Indices into `waiting`. */
  granted: number[];
  /** The last bus granted (start after it next time), or the cursor passed in. */
  cursor: number | null;
}

/**
 * Which of the `waiting` requests (in arrival order, by bus) may switch on at `now`, given
 * the grants already made. Buses are served in turn, starting after `cursor` (so no bus waits
 * behind another window after window); within a bus requests go in arrival order. A request
 * waits while its bus or the module is at its limit for the window.
 */
export function admit(
  waiting: readonly number[],
  recent: readonly Grant[],
  now: number,
  limits: InrushLimits,
  cursor: number | null = null,
): Admission {
  if (limits.perBus < 1 || limits.perStep < 1) throw new Error("inrush limits must be at least 1");
  const live = recent.filter((g) => g.at > now - limits.stepMs);
  const perBus = new Map<number, number>();
  for (const g of live) perBus.set(g.bus, (perBus.get(g.bus) ?? 0) + 1);
  let total = live.length;
  // Turn order: buses after the cursor first, then the rest; arrival order within a bus.
  const turn = (bus: number) => (cursor === null || bus > cursor ? bus : bus + 1e9);
  const order = waiting.map((bus, i) => ({ bus, i })).sort((a, b) =>
    turn(a.bus) - turn(b.bus) || a.i - b.i
  );
  const granted: number[] = [];
  let last = cursor;
  for (const { bus, i } of order) {
    if (total >= limits.perStep) break;
    if ((perBus.get(bus) ?? 0) >= limits.perBus) continue;
    granted.push(i);
    perBus.set(bus, (perBus.get(bus) ?? 0) + 1);
    total++;
    last = bus;
  }
  return { granted: granted.sort((a, b) => a - b), cursor: last };
}

/** Hands out switch-on slots in arrival order, within the limits. */
export class InrushLimiter {
  readonly limits: InrushLimits;
  readonly #clock: Clock;
  /**
   * Grants still inside their window. A grant whose rail has not switched yet is `pending` and
   * counts as happening now; once switched, its window runs from that moment.
   */
  #grants: (Grant & { pending: boolean })[] = [];
  #queue: { bus: number; grant: () => void }[] = [];
  #waking = false;
  #cursor: number | null = null;

  constructor(limits: InrushLimits, clock: Clock) {
    if (limits.perBus < 1 || limits.perStep < 1) {
      throw new Error("inrush limits must be at least 1");
    }
    this.limits = limits;
    this.#clock = clock;
  }

  /**
   * Resolves when a rail on `bus` may switch on, with a function to call once it has (or the
   * attempt ended): until then the grant holds its slot, and its window counts from that
   * moment, so late writes cannot bunch switch-ons together (on the real kernel, writes landing
   * 100–200 ms after their grant put three rails of one BitBar on within 11 ms).
   */
  acquire(bus: number): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        const g = { at: this.#clock.now(), bus, pending: true };
        this.#grants.push(g);
        resolve(() => {
          if (!g.pending) return;
          g.pending = false;
          g.at = this.#clock.now();
          this.#pump();
        });
      };
      this.#queue.push({ bus, grant });
      this.#pump();
    });
  }

  #pump(): void {
    const now = this.#clock.now();
    this.#grants = this.#grants.filter((g) => g.pending || g.at > now - this.limits.stepMs);
    const decision = admit(
      this.#queue.map((q) => q.bus),
      this.#grants.map((g) => g.pending ? { at: now, bus: g.bus } : g),
      now,
      this.limits,
      this.#cursor,
    );
    this.#cursor = decision.cursor;
    const chosen = new Set(decision.granted);
    const granted = this.#queue.filter((_, i) => chosen.has(i));
    this.#queue = this.#queue.filter((_, i) => !chosen.has(i));
    for (const q of granted) q.grant();
    // Pending grants wake the queue themselves when they switch; expiring ones need a timer.
    const expiring = this.#grants.filter((g) => !g.pending);
    if (this.#queue.length > 0 && !this.#waking && expiring.length > 0) {
      this.#waking = true;
      const oldest = Math.min(...expiring.map((g) => g.at));
      this.#clock.sleepUntil(oldest + this.limits.stepMs).then(() => {
        this.#waking = false;
        this.#pump();
      }).catch(backgroundFailed("inrush queue timer"));
    }
  }
}

/** One window of a switch-on plan: the nodes whose rails go on at `atMs`. */
export interface PlannedWindow {
  atMs: number;
  nodes: number[];
}

/**
 * The switch-on schedule {@link InrushLimiter} gives `requests` (in arrival order) when every
 * rail switches as soon as it is granted: the same `admit` decision, taken window by window.
 * For dry runs: nothing is switched.
 */
export function planWindows(
  requests: readonly { node: number; bus: number }[],
  limits: InrushLimits,
): PlannedWindow[] {
  let waiting = [...requests];
  const recent: Grant[] = [];
  const out: PlannedWindow[] = [];
  let cursor: number | null = null;
  for (let now = 0; waiting.length > 0; now += limits.stepMs) {
    const d = admit(waiting.map((r) => r.bus), recent, now, limits, cursor);
    cursor = d.cursor;
    if (d.granted.length === 0) continue;
    const chosen = new Set(d.granted);
    out.push({ atMs: now, nodes: waiting.filter((_, i) => chosen.has(i)).map((r) => r.node) });
    for (const i of d.granted) recent.push({ at: now, bus: waiting[i].bus });
    waiting = waiting.filter((_, i) => !chosen.has(i));
  }
  return out;
}
