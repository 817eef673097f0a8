/**
 * What both LED engines share: the mode being shown and the one loop that shows it, woken at
 * once by a mode change or a stop. Each pass of the loop takes a fresh signal ({@link pass}):
 * it aborts when the mode changes (the loop then starts the new mode) or the engine stops.
 */
import type { LedMode } from "../../shared/wire_schemas.ts";

/** The mode, the loop's lifecycle and its wake-up. */
export class ModeLoop {
  #mode: LedMode;
  #wake = new AbortController();
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(mode: LedMode) {
    this.#mode = mode;
  }

  /** The mode being shown. */
  get mode(): LedMode {
    return this.#mode;
  }

  /** Whether {@link stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Starts `run` as the loop, unless one runs or the loop was stopped. */
  start(run: () => Promise<void>): void {
    if (this.#loop || this.#stopped) return;
    this.#loop = run();
  }

  /** A new pass of the loop: a signal that aborts at the next mode change or stop. */
  pass(): AbortSignal {
    this.#wake = new AbortController();
    return this.#wake.signal;
  }

  /** Switches mode and wakes the loop; no-op if the same. */
  setMode(mode: LedMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#wake.abort();
  }

  /** Stops the loop and waits for it to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake.abort();
    await this.#loop;
  }
}
