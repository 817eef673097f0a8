/**
 * The benchmarks' process harness: a child process whose output is read line by line in the
 * background (so it never blocks on a full pipe), waited on for a line with a bound, sent
 * lines on stdin, and stopped with a bounded escalation; and a set that kills every child it
 * started when a benchmark ends or gives up.
 */

/** The repository root (benchmarks run their children from it). */
export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How a child is started. */
export interface SpawnOptions {
  /** Pipe stdin (for `send`); default: none. */
  stdin?: boolean;
  env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** stderr: the benchmark's own (default), dropped, or collected in `errLines`. */
  stderr?: "inherit" | "null" | "lines";
}

/** Reads a stream line by line into `into`, calling `onLine` after each chunk. */
async function readLines(
  s: ReadableStream<Uint8Array>,
  into: string[],
  onChunk: () => void,
): Promise<void> {
  const dec = new TextDecoder();
  let pending = "";
  try {
    for await (const chunk of s) {
      pending += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        into.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      onChunk();
    }
  } catch { /* the stream was cancelled */ }
}

/** A child process whose stdout (and, if asked, stderr) is read line by line. */
export class Child {
  readonly name: string;
  readonly proc: Deno.ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[] = [];
  /** Every stderr line so far (with `stderr: "lines"`). */
  readonly errLines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;
  #waiters: (() => void)[] = [];
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>[] = [];

  constructor(name: string, cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.name = name;
    const stderr = opts.stderr ?? "inherit";
    this.proc = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd ?? REPO_ROOT,
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: stderr === "lines" ? "piped" : stderr,
      env: opts.env,
    }).spawn();
    if (opts.stdin) this.#stdin = this.proc.stdin.getWriter();
    this.status = this.proc.status.then((s) => {
      this.exited = true;
      this.#wake();
      return s;
    });
    this.#reading.push(readLines(this.proc.stdout, this.lines, () => this.#wake()));
    if (stderr === "lines") {
      this.#reading.push(readLines(this.proc.stderr, this.errLines, () => {}));
    }
  }

  /** The child's process id. */
  get pid(): number {
    return this.proc.pid;
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The first stdout line from index `from` on matching `re` (bounded wait). */
  async line(re: RegExp, timeoutMs: number, from = 0): Promise<{ m: RegExpExecArray; i: number }> {
    const end = Date.now() + timeoutMs;
    let i = from;
    while (true) {
      for (; i < this.lines.length; i++) {
        const m = re.exec(this.lines[i]);
        if (m) return { m, i };
      }
      if (this.exited) throw new Error(`${this.name} exited before printing ${re}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Writes one line to the child's stdin. */
  async send(text: string): Promise<void> {
    await this.#stdin?.write(new TextEncoder().encode(text + "\n"));
  }

  /** Closes the child's stdin (a child that reads it takes that as "stop"). */
  async closeStdin(): Promise<void> {
    try {
      await this.#stdin?.close();
    } catch { /* already closed */ }
    this.#stdin = undefined;
  }

  /** Sends a signal; false when the child is gone. */
  kill(signal: Deno.Signal = "SIGTERM"): boolean {
    try {
      this.proc.kill(signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether it exits within `ms`. */
  exitsWithin(ms: number): Promise<boolean> {
    let t: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      this.status.then(() => true),
      new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms))),
    ]).finally(() => clearTimeout(t));
  }

  /** Closes stdin and waits `graceMs`, then SIGTERM, then SIGKILL; bounded. */
  async stop(graceMs = 5000): Promise<void> {
    await this.closeStdin();
    if (await this.exitsWithin(graceMs)) return this.#drained();
    this.kill("SIGTERM");
    if (await this.exitsWithin(3000)) return this.#drained();
    this.kill("SIGKILL");
    if (await this.exitsWithin(3000)) await this.#drained();
  }

  async #drained(): Promise<void> {
    await Promise.race([Promise.all(this.#reading), sleep(1000)]);
  }
}

/** The children a benchmark started: all of them can be killed at once when it ends. */
export class Children {
  readonly #all = new Set<Child>();

  /** Starts a child (see {@link Child}) and keeps it. */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
    const c = new Child(name, cmd, args, opts);
    this.#all.add(c);
    return c;
  }

  /** Starts `sh -c script` (for `ulimit` and the like) and keeps it. */
  shell(name: string, script: string, opts: SpawnOptions = {}): Child {
    return this.spawn(name, "sh", ["-c", script], opts);
  }

  /** The children started, in order. */
  [Symbol.iterator](): Iterator<Child> {
    return this.#all[Symbol.iterator]();
  }

  /** SIGKILL to every child still running (a benchmark that gives up). */
  killAllNow(): void {
    for (const c of this.#all) if (!c.exited) c.kill("SIGKILL");
  }

  /** SIGTERM to every child still running, then SIGKILL after `graceMs`. */
  async stopAll(graceMs = 1500): Promise<void> {
    for (const c of this.#all) if (!c.exited) c.kill("SIGTERM");
    await Promise.all([...this.#all].map((c) => c.exitsWithin(graceMs)));
    this.killAllNow();
    await Promise.all([...this.#all].map((c) => c.exitsWithin(3000)));
  }
}
