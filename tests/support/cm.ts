/** `cm` run in-process, as the CLI tests drive it. */
import { runCli } from "../../hub/cli/main.ts";

/** What a `cm` run printed and returned. */
export interface CmRun {
  code: number;
  out: string;
  err: string;
  /** The questions it asked (when `answers` were given). */
  asked: string[];
}

/**
 * Runs `cm ARGS` in-process with exactly `env` as its environment. `answers` plays the person
 * at the terminal (undefined: no terminal to ask on); `io` adds terminals of its own.
 */
export async function runCm(
  args: string[],
  env: Record<string, string | undefined> = {},
  answers?: string[],
  io: Partial<Parameters<typeof runCli>[1]> = {},
): Promise<CmRun> {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  const prompt = answers && ((q: string) => {
    asked.push(q);
    return Promise.resolve(answers.shift() ?? null);
  });
  const code = await runCli(
    args,
    { ...io, out: (l) => out.push(l), err: (l) => err.push(l), prompt },
    (n) => env[n],
  );
  return { code, out: out.join("\n"), err: err.join("\n"), asked };
}

/** How `deno task cm` runs the CLI: Deno's arguments before the verb's. */
export const CM_PROCESS_ARGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "hub/cli/main.ts",
];

/** `cm ARGS` as its own process against the hub at `url` (admin token), stderr read as it comes. */
export class CmProcess {
  readonly child: Deno.ChildProcess;
  /** What it wrote to stderr so far. */
  err = "";
  readonly #stdout: Promise<string>;
  readonly #reader: ReadableStreamDefaultReader<string>;

  constructor(url: string, args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [...CM_PROCESS_ARGS, ...args],
      env: { CM_HUB: url, CM_TOKEN: "test-admin-token" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdout = new Response(this.child.stdout).text();
    this.#reader = this.child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Reads stderr until it matches `re`; throws if cm exits first. */
  async waitForErr(re: RegExp): Promise<void> {
    while (!re.test(this.err)) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`cm exited before printing ${re}:\n${this.err}`);
      this.err += value;
    }
  }

  /** Reads stderr to its end and waits for the exit: the exit code, stdout and stderr. */
  async finish(): Promise<{ code: number; out: string; err: string }> {
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      this.err += value;
    }
    const status = await this.child.status;
    return { code: status.code, out: await this.#stdout, err: this.err };
  }

  /** Sends `signal`; false when it had exited already. */
  kill(signal: Deno.Signal): boolean {
    try {
      this.child.kill(signal);
      return true;
    } catch {
      return false;
    }
  }
}
