/**
 * The terminal `cm console` runs in, behind a narrow interface so the verb can be tested
 * with a fake: raw mode on and off, keys in, bytes out, notices, window size and resizes,
 * and the signals that must still restore the terminal.
 */

/** What `cm console` needs from its terminal. */
export interface ConsoleTerminal {
  /** stdin is a terminal (raw mode and window size make sense). */
  readonly isTerminal: boolean;
  /** Typed bytes; null at end of input. */
  read(): Promise<Uint8Array | null>;
  /** Console output to stdout. */
  write(data: Uint8Array): Promise<void>;
  /** A notice from cm itself (stderr), on its own line. */
  notice(text: string): void;
  /** Raw mode on (every key goes to the node, Ctrl-C too) or back to how it was. */
  setRaw(on: boolean): void;
  /** Window size, if known. */
  size(): { cols: number; rows: number } | null;
  /** Calls `fn` when the window is resized; returns the unsubscribe. */
  onResize(fn: () => void): () => void;
  /** Calls `fn` on SIGTERM, SIGHUP or SIGINT (raw mode or not); returns the unsubscribe. */
  onStop(fn: (signal: Deno.Signal) => void): () => void;
}

const encoder = new TextEncoder();

/** The process's own terminal (stdin, stdout, stderr). */
export class ProcessTerminal implements ConsoleTerminal {
  readonly isTerminal = Deno.stdin.isTerminal();
  #raw = false;

  async read(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(4096);
    const n = await Deno.stdin.read(buf);
    return n === null ? null : buf.subarray(0, n);
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await Deno.stdout.write(data.subarray(off));
  }

  notice(text: string): void {
    const nl = this.#raw ? "\r\n" : "\n";
    const body = this.#raw ? text.replaceAll("\n", "\r\n") : text;
    Deno.stderr.writeSync(encoder.encode(`${this.#raw ? "\r\n" : ""}[cm] ${body}${nl}`));
  }

  setRaw(on: boolean): void {
    if (!this.isTerminal || this.#raw === on) return;
    Deno.stdin.setRaw(on);
    this.#raw = on;
  }

  size(): { cols: number; rows: number } | null {
    try {
      const { columns, rows } = Deno.consoleSize();
      return { cols: columns, rows };
    } catch {
      return null;
    }
  }

  onResize(fn: () => void): () => void {
    try {
      Deno.addSignalListener("SIGWINCH", fn);
    } catch {
      return () => {};
    }
    return () => Deno.removeSignalListener("SIGWINCH", fn);
  }

  onStop(fn: (signal: Deno.Signal) => void): () => void {
    const signals: Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGINT"];
    const handlers = signals.map((s) => [s, () => fn(s)] as const);
    for (const [s, h] of handlers) Deno.addSignalListener(s, h);
    return () => {
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    };
  }
}
