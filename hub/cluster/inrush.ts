/**
 * Inrush limiting for the whole module: at most `perBus` rails per BitBar and `perStep` rails
 * in all may switch on within any `stepMs` window, whichever job or request asks. The
 * decision is a pure function (`admit`); `InrushLimiter` applies it over time with a Clock.
 */
import type { Clock } from "../../shared/clock.ts";

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
  /** Grants still inside their window; `at` moves to when the rail really switched. */
  #grants: Grant[] = [];
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
   * Resolves when a rail on `bus` may switch on, with a function to call once it has: the
   * window then counts from that moment, so a late write cannot bunch switch-ons together (on
   * the real kernel, writes landing up to 200 ms after their grant put three rails of one
   * BitBar on within 4 ms).
   */
  acquire(bus: number): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        const g: Grant = { at: this.#clock.now(), bus };
        this.#grants.push(g);
        resolve(() => {
          g.at = Math.max(g.at, this.#clock.now());
        });
      };
      this.#queue.push({ bus, grant });
      this.#pump();
    });
  }

  #pump(): void {
    const now = this.#clock.now();
    this.#grants = this.#grants.filter((g) => g.at > now - this.limits.stepMs);
    const decision = admit(
      this.#queue.map((q) => q.bus),
      this.#grants,
      now,
      this.limits,
      this.#cursor,
    );
    this.#cursor = decision.cursor;
    const chosen = new Set(decision.granted);
    const granted = this.#queue.filter((_, i) => chosen.has(i));
    this.#queue = this.#queue.filter((_, i) => !chosen.has(i));
    for (const q of granted) q.grant();
    if (this.#queue.length > 0 && !this.#waking && this.#grants.length > 0) {
      this.#waking = true;
      const oldest = Math.min(...this.#grants.map((g) => g.at));
      this.#clock.sleepUntil(oldest + this.limits.stepMs).then(() => {
        this.#waking = false;
        this.#pump();
      });
    }
  }
}
