/**
 * The LED engine: drives one GpioLine through a pattern on an absolute timeline (see
 * `schedule.ts`), waking with `clock.sleepUntil` for each edge. A late wake-up applies the
 * current level and goes on with the next edge on the original timeline; a mode change
 * interrupts the sleep and restarts the timeline at once.
 */
import type { Clock } from "../../shared/clock.ts";
import type { BinaryValue, GpioLine } from "../../shared/pins/gpio_line.ts";
import type { LedEngineKind, LedMode, Model } from "../../shared/wire_schemas.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DueGate } from "./due_gate.ts";
import { ModeLoop } from "./mode_loop.ts";
import { isConstant, type LedPattern, patternFor } from "../../shared/led/patterns.ts";
import { currentEdge, edgeAt } from "../../shared/led/schedule.ts";

/** Typical lateness of a futex wake-up; the engine spins this last bit. */
const FUTEX_LATENCY_MS = 0.1;

/** In a constant mode (on, off), a failed write is retried this often until one succeeds. */
export const WRITE_RETRY_MS = 1000;

/** Who blinks the bay LED: the agent on a GPIO line, or the kernel's pattern trigger. */
export type { LedEngineKind } from "../../shared/wire_schemas.ts";

/** What the agent needs of an LED engine: {@link LedEngine} or `KernelLedEngine`. */
export interface BayLedEngine {
  readonly kind: LedEngineKind;
  /** The mode being shown. */
  readonly mode: LedMode;
  /**
   * Where the timelines (LED and heartbeats) start for an agent starting at `now`: now for
   * the agent's engine, the next grid instant for the kernel's.
   */
  timelineStart(now: number): number;
  /** Starts the loop (idempotent); `at` anchors the first pattern's timeline. */
  start(at?: number): void;
  /** Switches mode at once. */
  setMode(mode: LedMode): void;
  /** Stops the loop and waits for it. */
  stop(): Promise<void>;
  /** Resolves once the LED work due by now is done (a heartbeat due on the same tick waits). */
  afterDueEdge(): Promise<void>;
}

/** Options of the LED engine. */
export interface LedEngineOptions {
  line: GpioLine;
  clock: Clock;
  /** Board model: picks the heartbeat polarity. `unknown` gets the normal heartbeat. */
  model: Model;
  /** Initial mode (default heartbeat). */
  mode?: LedMode;
  logger?: Logger;
  /**
   * Real clock only: the timer wakes this many ms before each edge, then the engine blocks
   * on a futex (Atomics.wait, no CPU) until just before the edge and spins the last ~0.1 ms,
   * so the edge lands within a fraction of a millisecond instead of the timer's ~1 ms
   * granularity. Blocks the event loop at most `leadMs` per edge. 0 (default) sleeps
   * straight to the edge, as tests with a fake clock want.
   */
  leadMs?: number;
}

/** Runs LED patterns on a line until stopped. */
export class LedEngine implements BayLedEngine {
  readonly kind = "agent";
  readonly #line: GpioLine;
  readonly #clock: Clock;
  readonly #gate: DueGate;
  readonly #model: Model;
  readonly #log: Logger;
  readonly #loop: ModeLoop;
  #lastWritten: BinaryValue | undefined;
  #writeFailing = false;
  readonly #leadMs: number;
  readonly #futex = new Int32Array(new SharedArrayBuffer(4));

  constructor(opts: LedEngineOptions) {
    this.#line = opts.line;
    this.#clock = opts.clock;
    this.#gate = new DueGate(opts.clock);
    this.#model = opts.model;
    this.#loop = new ModeLoop(opts.mode ?? "heartbeat");
    this.#log = opts.logger ?? silentLogger;
    this.#leadMs = Math.max(0, opts.leadMs ?? 0);
    if (opts.model === "unknown") {
      this.#log.warn("board model unknown: using the standard heartbeat (on 900 ms, off 100 ms)");
    }
  }

  /** The line driven. */
  get line(): GpioLine {
    return this.#line;
  }

  /** The mode being shown. */
  get mode(): LedMode {
    return this.#loop.mode;
  }

  timelineStart(now: number): number {
    return now;
  }

  /** The pattern being shown. */
  get pattern(): LedPattern {
    return patternFor(this.#loop.mode, this.#model);
  }

  /**
   * Starts the loop (idempotent). `at` (default now) anchors the first pattern's timeline:
   * the agent gives the reporter the same anchor, so that heartbeats fall due on the very
   * timer ticks of the LED's edges and share their wake-ups.
   */
  start(at?: number): void {
    this.#loop.start(() => this.#run(at));
  }

  /** Switches mode; takes effect at once (the running sleep is interrupted). No-op if same. */
  setMode(mode: LedMode): void {
    this.#loop.setMode(mode);
  }

  /** Stops the loop and waits for it to finish. Leaves the line as it is (see `agent.ts`). */
  async stop(): Promise<void> {
    await this.#loop.stop();
    this.#gate.close();
  }

  /**
   * Resolves once the edge due by now, if any, has been written; at once when none is due.
   * The agent's heartbeat falls due on the same timer tick as the LED's rising edge and waits
   * here, so that its work (reading health, sending) never delays the edge.
   */
  afterDueEdge(): Promise<void> {
    return this.#gate.afterDue();
  }

  async #run(anchor?: number): Promise<void> {
    while (!this.#loop.stopped) {
      const signal = this.#loop.pass();
      const pattern = this.pattern;
      const start = anchor ?? this.#clock.now();
      anchor = undefined; // a later mode starts its timeline when it is set
      if (isConstant(pattern)) {
        // One good write is enough; while writes fail, no later edge would fix the level.
        await this.#apply(pattern.edges[0].value);
        this.#gate.done(Infinity);
        while (this.#writeFailing && !signal.aborted) {
          await this.#clock.sleep(WRITE_RETRY_MS, signal);
          if (!signal.aborted) await this.#apply(pattern.edges[0].value);
        }
        await this.#clock.sleepUntil(Infinity, signal);
        continue;
      }
      let edge = edgeAt(pattern, start, 0);
      while (!signal.aborted) {
        await this.#apply(edge.value);
        const next = edgeAt(pattern, start, edge.index + 1);
        this.#gate.done(next.at);
        await this.#waitFor(next.at, signal);
        if (signal.aborted) break;
        // Late wake-ups skip to the edge due now; the timeline itself never moves.
        const now = this.#clock.now();
        edge = now >= next.at ? currentEdge(pattern, start, now) : next;
        if (edge.index < next.index) edge = next;
      }
    }
  }

  async #waitFor(at: number, signal: AbortSignal): Promise<void> {
    if (this.#leadMs === 0) return this.#clock.sleepUntil(at, signal);
    await this.#clock.sleepUntil(at - this.#leadMs, signal);
    if (signal.aborted) return;
    // Block (no CPU) on a futex for the last stretch, less ~0.1 ms of wake-up latency...
    const rest = at - this.#clock.now() - FUTEX_LATENCY_MS;
    if (rest > 0) Atomics.wait(this.#futex, 0, 0, Math.min(rest, this.#leadMs));
    // ...then spin the remainder. Bail out if the clock does not move (not a real clock).
    let prev = this.#clock.now();
    let still = 0;
    while (prev < at && still < 1000) {
      const now = this.#clock.now();
      still = now === prev ? still + 1 : 0;
      prev = now;
    }
  }

  async #apply(value: BinaryValue): Promise<void> {
    try {
      await this.#line.write(value);
      this.#lastWritten = value;
      if (this.#writeFailing) this.#log.info(`GPIO ${this.#line.gpio} writes work again`);
      this.#writeFailing = false;
    } catch (e) {
      if (!this.#writeFailing) {
        this.#log.error(`GPIO ${this.#line.gpio} write failed: ${(e as Error).message}`);
      }
      this.#writeFailing = true;
    }
  }

  /** The level last written successfully (undefined before the first write). */
  get lastWritten(): BinaryValue | undefined {
    return this.#lastWritten;
  }
}
