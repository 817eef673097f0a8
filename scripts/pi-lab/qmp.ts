/**
 * A QMP (QEMU Machine Protocol) client over a unix socket: what the Pi lab uses to look at an
 * emulated board from outside, never trusting the guest. `readPhys32` reads a word of the
 * guest's physical address space (the monitor's `xp`), which for a SoC register such as GPLEV0
 * is the device model's own state. One command at a time; replies are read line by line with a
 * bounded buffer (a line over 1 MiB is an error, not a growing buffer).
 */

const MAX_LINE = 1 << 20;

/** A QMP error or a closed connection. */
export class QmpError extends Error {
  override name = "QmpError";
}

/** A connected, negotiated QMP session. */
export class Qmp {
  readonly #conn: Deno.UnixConn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #dec = new TextDecoder();
  #buf = "";
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  /** Connects to `path` (retrying for up to `waitMs` while QEMU creates the socket). */
  static async connect(path: string, waitMs = 10_000): Promise<Qmp> {
    const until = performance.now() + waitMs;
    for (;;) {
      try {
        const conn = await Deno.connect({ transport: "unix", path });
        const q = new Qmp(conn);
        await q.#message(); // the greeting
        await q.execute("qmp_capabilities");
        return q;
      } catch (e) {
        if (performance.now() > until) {
          throw new QmpError(`cannot open QMP at ${path}: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async #line(): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      if (this.#buf.length > MAX_LINE) throw new QmpError("QMP line over 1 MiB");
      const { value, done } = await this.#reader.read();
      if (done) throw new QmpError("QMP connection closed");
      this.#buf += this.#dec.decode(value, { stream: true });
    }
  }

  /** The next reply or greeting, skipping asynchronous events. */
  async #message(): Promise<Record<string, unknown>> {
    for (;;) {
      const line = (await this.#line()).trim();
      if (!line) continue;
      const m = JSON.parse(line) as Record<string, unknown>;
      if (!("event" in m)) return m;
    }
  }

  /** Runs one QMP command and returns its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const run = async () => {
      const msg = JSON.stringify(
        args ? { execute: command, arguments: args } : { execute: command },
      );
      await this.#conn.write(new TextEncoder().encode(msg + "\n"));
      const r = await this.#message();
      if ("error" in r) {
        const e = r.error as { class?: string; desc?: string };
        throw new QmpError(`QMP ${command}: ${e.class}: ${e.desc}`);
      }
      return r.return;
    };
    const p = this.#busy.then(run, run);
    this.#busy = p.catch(() => {});
    return p;
  }

  /** A human monitor command (e.g. `info status`), its text output. */
  async hmp(commandLine: string): Promise<string> {
    return String(await this.execute("human-monitor-command", { "command-line": commandLine }));
  }

  /** The 32-bit word at guest physical address `addr` (the monitor's `xp /1wx`). */
  async readPhys32(addr: number): Promise<number> {
    const out = await this.hmp(`xp /1wx 0x${addr.toString(16)}`);
    const m = out.match(/:\s*0x([0-9a-f]+)/i);
    if (!m) {
      throw new QmpError(`xp 0x${addr.toString(16)}: unexpected output ${JSON.stringify(out)}`);
    }
    return parseInt(m[1], 16);
  }

  /** Closes the connection (the guest keeps running). */
  close(): void {
    try {
      this.#reader.releaseLock();
    } catch { /* released */ }
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}
