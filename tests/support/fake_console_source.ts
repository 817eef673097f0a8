/**
 * A console source in memory, modelling a serial line: `emit` is what the node prints (lost
 * while no connection is open, as on a real line), `written` what was typed at it;
 * `drop()` ends the open connection as an unplugged adapter would.
 */
import type { ConsoleChannel, ConsoleSource } from "../../hub/console/console_source.ts";

/** An in-memory console line. */
export class FakeConsoleSource implements ConsoleSource {
  readonly kind = "fake";
  readonly describe = "fake console line";
  readonly written: Uint8Array[] = [];
  /** Window sizes passed on, as [cols, rows]. */
  readonly sizes: [number, number][] = [];
  opens = 0;
  #queue: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #open = false;
  #failNext: Error | null = null;

  /** The node prints `text`. */
  emit(text: string | Uint8Array): void {
    if (!this.#open) return;
    this.#queue.push(typeof text === "string" ? new TextEncoder().encode(text) : text);
    this.#wake?.();
  }

  /** What was typed, as text. */
  get typed(): string {
    return this.written.map((b) => new TextDecoder().decode(b)).join("");
  }

  /** Ends the open connection with an error. */
  drop(why = "the device went away"): void {
    this.#failNext = new Error(why);
    this.#wake?.();
  }

  get connected(): boolean {
    return this.#open;
  }

  open(): Promise<ConsoleChannel> {
    this.opens++;
    this.#open = true;
    let closed = false;
    const channel: ConsoleChannel = {
      read: async () => {
        while (this.#queue.length === 0 && !closed && !this.#failNext) {
          await new Promise<void>((r) => (this.#wake = r));
        }
        if (this.#failNext) {
          const e = this.#failNext;
          this.#failNext = null;
          this.#open = false;
          throw e;
        }
        if (closed) return null;
        return this.#queue.shift()!;
      },
      write: (data) => {
        this.written.push(data.slice());
        return Promise.resolve();
      },
      resize: (cols, rows) => {
        this.sizes.push([cols, rows]);
      },
      close: () => {
        closed = true;
        this.#open = false;
        this.#wake?.();
      },
    };
    return Promise.resolve(channel);
  }
}
