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

/** Starts processes. A command that does not exist makes `spawn` throw and `run` return 127. */
export interface ProcessRunner {
  spawn(cmd: string, args: string[]): ChildProcessHandle;
  run(cmd: string, args: string[]): Promise<RunResult>;
}

const TAIL = 4096;

/** The real runner, on `Deno.Command`. */
export class DenoProcessRunner implements ProcessRunner {
  spawn(cmd: string, args: string[]): ChildProcessHandle {
    const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
      .spawn();
    let tail = "";
    const drain = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) tail = (tail + dec.decode(chunk)).slice(-TAIL);
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
