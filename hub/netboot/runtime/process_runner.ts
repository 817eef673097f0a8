/** The `ProcessRunner` seam: start long-running children and run short commands. */

/** How a process ended. */
export interface ExitStatus {
  code: number;
  signal: string | null;
}

/** A running child process. */
export interface ChildProcessHandle {
  pid: number;
  /** Resolves when the process exits. */
  readonly status: Promise<ExitStatus>;
  /** Sends a signal; ignored once the process has exited. */
  kill(signal: Deno.Signal): void;
  /** The last few KiB the process wrote to stderr. */
  stderrTail(): string;
}

/** Result of a short command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of a spawned child. */
export interface SpawnOptions {
  /** Called with every complete line the child writes to stderr (without the newline). */
  onStderrLine?: (line: string) => void;
}

/** Starts processes. A command that does not exist makes `spawn` throw and `run` return 127. */
export interface ProcessRunner {
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcessHandle;
  run(cmd: string, args: string[]): Promise<RunResult>;
}

const TAIL = 4096;

/** The real runner, on `Deno.Command`. */
export class DenoProcessRunner implements ProcessRunner {
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcessHandle {
    const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
      .spawn();
    let tail = "";
    const lines = opts.onStderrLine ? lineSplitter(opts.onStderrLine) : null;
    const drain = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        const text = dec.decode(chunk, { stream: true });
        tail = (tail + text).slice(-TAIL);
        lines?.push(text);
      }
      lines?.end();
    })().catch(() => {});
    let exited = false;
    const status = child.status.then(async (s) => {
      exited = true;
      await drain;
      return { code: s.code, signal: s.signal };
    });
    return {
      pid: child.pid,
      status,
      kill(signal) {
        if (exited) return;
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      },
      stderrTail: () => tail,
    };
  }

  async run(cmd: string, args: string[]): Promise<RunResult> {
    try {
      const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return { code: 127, stdout: "", stderr: `${cmd}: command not found` };
      }
      throw e;
    }
  }
}

/**
 * Cuts a text stream into lines for `onLine`; a partial line waits for its end (or `end()`).
 * A callback that throws loses its line, never the stream.
 */
export function lineSplitter(onLine: (line: string) => void): {
  push(text: string): void;
  end(): void;
} {
  let partial = "";
  const emit = (line: string) => {
    try {
      onLine(line);
    } catch { /* a consumer's bug must not stop the child's output */ }
  };
  return {
    push(text) {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      for (const l of parts) emit(l.endsWith("\r") ? l.slice(0, -1) : l);
    },
    end() {
      if (partial) emit(partial);
      partial = "";
    },
  };
}
