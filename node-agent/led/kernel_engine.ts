/**
 * The kernel LED engine: the kernel's pattern trigger blinks the bay LED (no wake-up of the
 * agent per edge); the agent only restarts the pattern once a second, on the wall clock's grid.
 *
 * - **Dead-man.** Each mode is written as a finite pattern (`shared/led/kernel_pattern.ts`):
 *   the alive pattern for 2 s, then dark. The agent restarts it (`echo 1 > repeat`) at every
 *   grid instant; an agent killed, hung (SIGSTOP) or stuck stops restarting it, and the LED
 *   goes dark at most 2 s (plus the kernel's timer rounding) after the last restart.
 * - **Drift.** The kernel re-arms each step relative to now, rounded up by the timer wheel
 *   (+23 ms a second seen at HZ=250); every restart puts the rising edge back on the grid,
 *   `k × period + phase` of the epoch, so bays whose clocks agree blink together.
 *
 * The restarts come from the engine's own timer (`start`), or from the agent's heartbeat
 * passes (`drive` and `restart`), which wake on the same grid anyway.
 */
import type { Clock } from "../../shared/clock.ts";
import { type KernelPattern, kernelPattern, nextRearm } from "../../shared/led/kernel_pattern.ts";
import { ledPatternFor } from "../../shared/led/patterns.ts";
import type { LedMode } from "../../shared/wire_schemas.ts";
import { type Logger, silentLogger } from "../log.ts";
import { DueGate } from "./due_gate.ts";
import { ModeLoop } from "./mode_loop.ts";
import type { BayLedEngine } from "./engine.ts";
import type { LedClassDevice } from "./led_class.ts";

/** What the LED is left with on stop: dark, and no timer (one step a second, run once). */
export const KERNEL_DARK_PATTERN = "0 1000 0 0\n";

/** Options of {@link KernelLedEngine}. */
export interface KernelLedEngineOptions {
  /** The LED, its pattern trigger selected (see `probeKernelLed`). */
  led: LedClassDevice;
  clock: Clock;
  /** Initial mode (default heartbeat). */
  mode?: LedMode;
  logger?: Logger;
}

/** Hands the bay LED's patterns to the kernel and restarts them on the grid until stopped. */
export class KernelLedEngine implements BayLedEngine {
  readonly kind = "kernel";
  readonly #led: LedClassDevice;
  readonly #clock: Clock;
  readonly #gate: DueGate;
  readonly #log: Logger;
  readonly #loop: ModeLoop;
  #failing = false;
  #started = false;
  /** When the mode shown was written: the loop's next restart is the grid instant after. */
  #shownAt = 0;
  /** Restarts written so far. */
  #rearms = 0;

  constructor(opts: KernelLedEngineOptions) {
    this.#led = opts.led;
    this.#clock = opts.clock;
    this.#gate = new DueGate(opts.clock);
    this.#loop = new ModeLoop(opts.mode ?? "heartbeat");
    this.#log = opts.logger ?? silentLogger;
  }

  get mode(): LedMode {
    return this.#loop.mode;
  }

  /** Restarts written so far (tests, benchmark). */
  get rearms(): number {
    return this.#rearms;
  }

  /** The next restart instant on the current mode's grid: the agent anchors heartbeats there. */
  timelineStart(now: number): number {
    return nextRearm(kernelPattern(ledPatternFor(this.#loop.mode)), now);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#show();
    this.#loop.start(() => this.#run());
  }

  /**
   * Starts the engine without a timer of its own, for heartbeat passes: the caller calls
   * {@link restart} at every grid instant ({@link timelineStart} + k × 1 s), in the wake-up
   * it has there anyway. Every mode's pattern restarts on that grid (phase 0, 1 s). A mode set
   * meanwhile is written at once, as after `start`.
   */
  drive(): void {
    if (this.#started) return;
    this.#started = true;
    this.#show();
  }

  /** Restarts the pattern now: the restart due at a grid instant, when driven (see {@link drive}). */
  restart(): void {
    if (this.#started && !this.#loop.stopped) this.#rearm();
  }

  /** Switches mode: the new pattern is written at once (not at the loop's next turn). */
  setMode(mode: LedMode): void {
    if (mode === this.#loop.mode) return;
    this.#loop.setMode(mode);
    if (this.#started && !this.#loop.stopped) this.#show();
  }

  /** Stops restarting and leaves the LED dark (trigger kept: the agent may not select it again). */
  async stop(): Promise<void> {
    await this.#loop.stop();
    this.#write("pattern", KERNEL_DARK_PATTERN) && this.#write("repeat", "1");
    this.#led.close?.();
    this.#gate.close();
  }

  afterDueEdge(): Promise<void> {
    return this.#gate.afterDue();
  }

  async #run(): Promise<void> {
    while (!this.#loop.stopped) {
      const signal = this.#loop.pass();
      const k = kernelPattern(ledPatternFor(this.#loop.mode));
      // The mode was written (#show) when it was set; the next grid instant puts it in phase.
      let next = this.#after(k, this.#shownAt);
      while (!signal.aborted) {
        this.#gate.done(next);
        await this.#clock.sleepUntil(next, signal);
        if (signal.aborted) break;
        this.#rearm();
        next = this.#after(k, this.#clock.now());
      }
    }
  }

  /** Writes the current mode's pattern, which shows at once, and restarts it. */
  #show(): void {
    const k = kernelPattern(ledPatternFor(this.#loop.mode));
    this.#shownAt = this.#clock.now();
    if (this.#write("pattern", `${k.text}\n`)) this.#rearm();
  }

  /** The first grid instant strictly after `now`. */
  #after(k: KernelPattern, now: number): number {
    const next = nextRearm(k, now);
    return next > now ? next : next + k.rearmMs;
  }

  #rearm(): void {
    if (this.#write("repeat", "1")) this.#rearms++;
  }

  /** One attribute write; a failure is logged once until writes work again. */
  #write(attr: string, value: string): boolean {
    try {
      this.#led.write(attr, value);
      if (this.#failing) this.#log.info(`${this.#led.path}: writes work again`);
      this.#failing = false;
      return true;
    } catch (e) {
      if (!this.#failing) {
        this.#log.error(`${this.#led.path}/${attr}: write failed: ${(e as Error).message}`);
      }
      this.#failing = true;
      return false;
    }
  }
}
