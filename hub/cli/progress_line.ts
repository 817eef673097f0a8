/**
 * Where `cm` draws a job's progress. On a terminal, one line redrawn in place (carriage return
 * and "erase line"), cut to the terminal's width so that it never wraps; messages printed
 * meanwhile go above it and stay. Anywhere else (a pipe, a file, CI), plain lines a script can
 * read: one when the step changes, at most every {@link LINE_EVERY_MS}, and always the last.
 */

/** One state of the progress: `text` then `tail` (e.g. a countdown). */
export interface ProgressText {
  text: string;
  /**
   * Shown after `text` and kept whole when a terminal is too narrow (the text is cut instead);
   * a change of the tail alone is no new line in line output, so a countdown in a pipe is not
   * a line per second.
   */
  tail?: string;
}

/** A progress display. */
export interface ProgressSink {
  /** Shows the current progress. */
  update(progress: ProgressText): void;
  /** Prints a whole line (a warning, a message) that stays, above the progress. */
  log(line: string): void;
  /** Ends the display: the last progress stays on screen as a line of its own. */
  end(): void;
}

/** A terminal on stderr: raw writes (no newline added) and its width. */
export interface Terminal {
  write(text: string): void;
  /** Columns of the terminal. */
  columns(): number;
}

/** In line output, at most one line per this many ms (the last line always comes). */
export const LINE_EVERY_MS = 2000;

/**
 * Columns left free at the end of the progress line: a full row would put the cursor on the next
 * one, and the terminal's own echo of Ctrl-C (`^C`) must not wrap either (it would stay behind).
 */
export const TERMINAL_MARGIN = 3;

/** Moves to the start of the line and erases it. */
const CLEAR_LINE = "\r\x1b[2K";

/** Cuts `text` to `width` characters (code points), marking the cut with "…". */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1
    ? chars.slice(0, Math.max(0, width)).join("")
    : chars.slice(0, width - 1).join("") + "…";
}

/** Redraws one line in place on a terminal. */
export class TerminalProgress implements ProgressSink {
  readonly #tty: Terminal;
  #text = "";
  #tail = "";
  /** The progress line is on screen (the cursor stands at its end). */
  #shown = false;

  constructor(tty: Terminal) {
    this.#tty = tty;
  }

  update({ text, tail = "" }: ProgressText): void {
    if (text === this.#text && tail === this.#tail && this.#shown) return;
    this.#text = text;
    this.#tail = tail;
    this.#draw();
  }

  log(line: string): void {
    this.#tty.write(`${this.#shown ? CLEAR_LINE : ""}${line}\n`);
    if (this.#shown) this.#draw();
  }

  end(): void {
    if (!this.#shown) return;
    // The final line in full (it may wrap now: nothing redraws it any more).
    this.#tty.write(`${CLEAR_LINE}${this.#text}${this.#tail}\n`);
    this.#shown = false;
  }

  #draw(): void {
    const width = Math.max(10, this.#tty.columns() - TERMINAL_MARGIN);
    const tail = fitWidth(this.#tail, width);
    const text = fitWidth(this.#text, width - [...tail].length);
    this.#tty.write(CLEAR_LINE + text + tail);
    this.#shown = true;
  }
}

/** Prints whole lines: for pipes, files and CI logs. */
export class LineProgress implements ProgressSink {
  readonly #err: (line: string) => void;
  readonly #now: () => number;
  readonly #everyMs: number;
  #lastKey: string | undefined;
  #lastAt = -Infinity;
  #pending: { line: string; key: string } | null = null;

  constructor(err: (line: string) => void, now: () => number = Date.now, everyMs = LINE_EVERY_MS) {
    this.#err = err;
    this.#now = now;
    this.#everyMs = everyMs;
  }

  update({ text, tail = "" }: ProgressText): void {
    const key = text;
    if (key === this.#lastKey) {
      this.#pending = null;
      return;
    }
    this.#pending = { line: text + tail, key };
    if (this.#now() - this.#lastAt >= this.#everyMs) this.#flush();
  }

  log(line: string): void {
    this.#err(line);
  }

  end(): void {
    this.#flush();
  }

  #flush(): void {
    if (!this.#pending) return;
    this.#err(this.#pending.line);
    this.#lastKey = this.#pending.key;
    this.#lastAt = this.#now();
    this.#pending = null;
  }
}

/** stderr as a {@link Terminal}, or undefined when it is not one (pipe, file, CI). */
export function stderrTerminal(): Terminal | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  return {
    write(text) {
      const bytes = encoder.encode(text);
      for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
    },
    columns() {
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
  };
}
