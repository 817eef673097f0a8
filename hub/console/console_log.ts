/**
 * One node's console history: a bounded ring of lines, each stamped with the time its first
 * byte arrived, kept in memory and in an append-only file so that it survives a hub restart.
 *
 * The file is a sequence of records `[u32 length][f64 at][bytes]` (little-endian), one per
 * chunk received; replaying them rebuilds the same lines. When it grows past twice the
 * ring's capacity it is rewritten (to a temporary file, renamed over) with one record per
 * kept line, so it stays bounded. A record cut short by a crash is dropped on load.
 * Mode 0600: consoles show secrets.
 */
import type { ConsoleLine } from "../../shared/console_schemas.ts";

/** The ring's default capacity, bytes. */
export const CONSOLE_LOG_BYTES = 256 * 1024;
/** What one line costs on top of its bytes (its timestamp and bookkeeping), bytes. */
const LINE_OVERHEAD = 16;
/** Record header in the file: length (u32) and time (f64). */
const RECORD_HEADER = 12;
const NEWLINE = 0x0a;

interface Line {
  at: number;
  parts: Uint8Array[];
  length: number;
  /** The line ended with "\n" (the newest line may still be open). */
  closed: boolean;
}

function joinParts(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  parts.splice(0, parts.length, out);
  return out;
}

/** How long after a failed write (a full disk) the history file is tried again, ms. */
export const PERSIST_RETRY_MS = 5000;

/** A node's console lines, bounded, optionally persisted to `path`. */
export class ConsoleLog {
  readonly capacity: number;
  readonly #path: string | null;
  readonly #lines: Line[] = [];
  #cost = 0;
  #bytes = 0;
  #file: Deno.FsFile | null = null;
  #fileBytes = 0;
  #closed = false;
  readonly #retryMs: number;
  /** Writing failed (a full disk): the file is tried again from this time (ms), else 0. */
  #retryAt = 0;

  /**
   * Opens the history of one node. `path` null keeps it in memory only. An existing file is
   * read back (and compacted); a damaged tail is dropped.
   */
  constructor(path: string | null, capacity = CONSOLE_LOG_BYTES, retryMs = PERSIST_RETRY_MS) {
    this.capacity = capacity;
    this.#retryMs = retryMs;
    this.#path = path;
    if (path === null) return;
    let data: Uint8Array | null = null;
    try {
      data = Deno.readFileSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    let off = 0;
    if (data) {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      while (off + RECORD_HEADER <= data.length) {
        const len = view.getUint32(off, true);
        const at = view.getFloat64(off + 4, true);
        if (off + RECORD_HEADER + len > data.length || !Number.isFinite(at)) break;
        this.#add(at, data.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len).slice());
        off += RECORD_HEADER + len;
      }
    }
    // A whole file of fitting size is appended to as it is (no rewrite on every start: SD
    // cards wear); a torn or oversized one is rewritten first.
    if (data && off === data.length && data.length <= 2 * this.capacity) {
      this.#fileBytes = data.length;
      Deno.chmodSync(path, 0o600);
    } else if (!this.#persist(() => this.#compact())) {
      // A full disk at start: the history read back stays in memory; written when space returns.
    }
  }

  /** Bytes of console output kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Lines kept now (the newest may be unterminated, e.g. a login prompt). */
  get lineCount(): number {
    return this.#lines.length;
  }

  /** Appends output that arrived at `at` (ms since the epoch). */
  append(at: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.#add(at, data);
    if (this.#path === null || this.#closed) return;
    if (this.#retryAt > 0) {
      // The file could not be written (disk full): now and then it is rewritten from memory,
      // which also drops a record torn by the failure.
      if (Date.now() < this.#retryAt) return;
      if (this.#persist(() => this.#compact())) this.#retryAt = 0;
      return;
    }
    this.#persist(() => {
      if (!this.#file) this.#openFile();
      const rec = new Uint8Array(RECORD_HEADER + data.length);
      const v = new DataView(rec.buffer);
      v.setUint32(0, data.length, true);
      v.setFloat64(4, at, true);
      rec.set(data, RECORD_HEADER);
      writeAll(this.#file!, rec);
      this.#fileBytes += rec.length;
      if (this.#fileBytes > 2 * this.capacity) this.#compact();
    });
  }

  /**
   * Runs a write of the file. A failure (ENOSPC, EIO) never reaches the console: the history
   * goes on in memory, and the file is tried again `retryMs` later. True if it worked.
   */
  #persist(write: () => void): boolean {
    try {
      write();
      return true;
    } catch (e) {
      if (this.#retryAt === 0) {
        console.error(
          `hub: cannot write console history ${this.#path} (${
            e instanceof Error ? e.message : e
          }); kept in memory, retrying`,
        );
      }
      this.#retryAt = Date.now() + this.#retryMs;
      try {
        this.#file?.close();
      } catch { /* closed */ }
      this.#file = null;
      return false;
    }
  }

  #add(at: number, data: Uint8Array): void {
    let start = 0;
    while (start < data.length) {
      const nl = data.indexOf(NEWLINE, start);
      const end = nl < 0 ? data.length : nl + 1;
      let last = this.#lines.at(-1);
      if (!last || last.closed) {
        last = { at, parts: [], length: 0, closed: false };
        this.#lines.push(last);
        this.#cost += LINE_OVERHEAD;
      }
      const piece = data.subarray(start, end);
      last.parts.push(piece);
      last.length += piece.length;
      this.#bytes += piece.length;
      this.#cost += piece.length;
      if (nl >= 0) last.closed = true;
      start = end;
    }
    this.#trim();
  }

  /** Drops the oldest lines (or the head of a single huge line) until within capacity. */
  #trim(): void {
    while (this.#cost > this.capacity && this.#lines.length > 1) {
      const old = this.#lines.shift()!;
      this.#cost -= old.length + LINE_OVERHEAD;
      this.#bytes -= old.length;
    }
    if (this.#cost > this.capacity) {
      const only = this.#lines[0];
      const cut = this.#cost - this.capacity;
      const data = joinParts(only.parts, only.length).slice(cut);
      only.parts = [data];
      only.length = data.length;
      this.#cost -= cut;
      this.#bytes -= cut;
    }
  }

  /** The newest `n` lines, oldest first, as text without their line ending. */
  tail(n: number): ConsoleLine[] {
    const decoder = new TextDecoder();
    return this.#lines.slice(Math.max(0, this.#lines.length - n)).map((l) => ({
      at: Math.round(l.at),
      text: decoder.decode(joinParts(l.parts, l.length)).replace(/\r?\n$/, "").replace(/\r$/, ""),
    }));
  }

  /** The bytes of the newest `n` lines as received (to replay into a terminal). */
  tailBytes(n: number): Uint8Array {
    const lines = this.#lines.slice(Math.max(0, this.#lines.length - n));
    return joinParts(lines.map((l) => joinParts(l.parts, l.length)), sum(lines));
  }

  #openFile(): void {
    this.#file = Deno.openSync(this.#path!, { append: true, create: true, mode: 0o600 });
  }

  /** Rewrites the file with one record per kept line, atomically. */
  #compact(): void {
    if (this.#path === null) return;
    this.#file?.close();
    this.#file = null;
    const size = this.#lines.reduce((s, l) => s + RECORD_HEADER + l.length, 0);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    let off = 0;
    for (const l of this.#lines) {
      v.setUint32(off, l.length, true);
      v.setFloat64(off + 4, l.at, true);
      out.set(joinParts(l.parts, l.length), off + RECORD_HEADER);
      off += RECORD_HEADER + l.length;
    }
    const tmp = `${this.#path}.tmp`;
    Deno.writeFileSync(tmp, out, { mode: 0o600 });
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, this.#path);
    this.#fileBytes = size;
    this.#openFile();
  }

  /** Closes the file (the history stays readable in memory). */
  close(): void {
    this.#closed = true;
    this.#file?.close();
    this.#file = null;
  }
}

function sum(lines: Line[]): number {
  return lines.reduce((s, l) => s + l.length, 0);
}

function writeAll(file: Deno.FsFile, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += file.writeSync(data.subarray(off));
}
