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
