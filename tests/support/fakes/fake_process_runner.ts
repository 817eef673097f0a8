/**
 * A fake {@link ProcessRunner} for tests. Spawned children stay alive until the test makes
 * them exit (`exit`) or they get a terminating signal, as real processes do; SIGHUP is
 * recorded and leaves the child running. Short commands answer from a table of handlers.
 */
import {
  type ChildProcessHandle,
  type ExitStatus,
  lineSplitter,
  type ProcessRunner,
  type RunResult,
  type SpawnOptions,
} from "../../../hub/netboot/runtime/process_runner.ts";

/** One fake child. */
export class FakeChild implements ChildProcessHandle {
  readonly pid: number;
  readonly cmd: string;
  readonly args: string[];
  readonly status: Promise<ExitStatus>;
  /** Signals received, in order. */
  readonly signals: Deno.Signal[] = [];
  stderr = "";
  readonly #lines: ReturnType<typeof lineSplitter> | null;
  #resolve!: (s: ExitStatus) => void;
  #exited = false;

  constructor(pid: number, cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.pid = pid;
    this.cmd = cmd;
    this.args = args;
    this.#lines = opts.onStderrLine ? lineSplitter(opts.onStderrLine) : null;
    this.status = new Promise((r) => (this.#resolve = r));
  }

  /** True once the child exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The child writes `text` to stderr (its lines reach `onStderrLine`, as from a real child). */
  writeStderr(text: string): void {
    if (this.#exited) return;
    this.stderr += text;
    this.#lines?.push(text);
  }

  /** Makes the child exit (as if it crashed or quit) with `code` and optional stderr text. */
  exit(code: number, stderr = "", signal: string | null = null): void {
    if (this.#exited) return;
    this.stderr += stderr;
    this.#lines?.push(stderr);
    this.#lines?.end();
    this.#exited = true;
    this.#resolve({ code, signal });
  }

  kill(signal: Deno.Signal): void {
    if (this.#exited) return;
    this.signals.push(signal);
    if (signal === "SIGHUP" || signal === "SIGUSR1" || signal === "SIGUSR2") return;
    this.exit(128 + (signal === "SIGKILL" ? 9 : 15), "", signal);
  }

  stderrTail(): string {
    return this.stderr.slice(-4096);
  }
}

/** Handler for a short command: its result, or a function computing it. */
export type FakeCommand = RunResult | ((args: string[]) => RunResult);

/** The fake runner. */
export class FakeProcessRunner implements ProcessRunner {
  /** Every child spawned, oldest first. */
  readonly children: FakeChild[] = [];
  /** Every short command run, as [cmd, ...args]. */
  readonly ran: string[][] = [];
  /** Commands that exist (by name); any other makes `spawn` throw and `run` return 127. */
  readonly commands = new Map<string, FakeCommand>();
  /** Long-running commands that can be spawned. */
  readonly spawnable = new Set<string>();
  /** Errors thrown by the next spawns (e.g. permission denied), consumed one per spawn. */
  readonly spawnErrors: Error[] = [];
  #pid = 1000;

  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcessHandle {
    const err = this.spawnErrors.shift();
    if (err) throw err;
    if (!this.spawnable.has(cmd)) throw new Deno.errors.NotFound(`No such file: ${cmd}`);
    const child = new FakeChild(++this.#pid, cmd, args, opts);
    this.children.push(child);
    return child;
  }

  /** The newest child. */
  get last(): FakeChild | undefined {
    return this.children.at(-1);
  }

  run(cmd: string, args: string[]): Promise<RunResult> {
    this.ran.push([cmd, ...args]);
    const h = this.commands.get(cmd);
    if (!h) return Promise.resolve({ code: 127, stdout: "", stderr: `${cmd}: command not found` });
    return Promise.resolve(typeof h === "function" ? h(args) : h);
  }
}
