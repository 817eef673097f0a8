/** Hubs as processes for the fleet tests, and the real programs they talk to. */
import { hubProcessArgs } from "../support/hub_process_args.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Writes `DIR/cm`, a `cm` program (the checkout's CLI with cm's permissions); returns its path. */
export async function writeCmProgram(dir: string): Promise<string> {
  const path = `${dir}/cm`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nexec '${Deno.execPath()}' run --allow-net --allow-read --allow-env --allow-write '${ROOT}hub/cli/main.ts' "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

/** A hub running as its own process (`hub/main.ts --allow-all`, as its unit runs it). */
export interface HubProcess {
  /** The public URL it printed (http or https). */
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Waits until its output matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the hub as its own process (`hubProcessArgs`: fixed secrets T and K, no virtual
 * agents, any free port unless `extra` names one) and waits for its URL.
 */
export async function startHubProcess(dataDir: string, extra: string[]): Promise<HubProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: hubProcessArgs(dataDir, extra),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      for (const w of waiters) w();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).finally(() => {
    ended = true;
    for (const w of waiters) w();
  });
  const waitFor = (re: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(re);
        if (m) {
          done();
          resolve(m);
        } else if (ended) {
          done();
          reject(new Error(`the hub exited before printing ${re}:\n${out}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${re} within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 8000);
    await child.status;
    clearTimeout(t);
    await pumps;
  };
  try {
    const url = (await waitFor(/ on (https?:\/\/[^\s]+)/))[1];
    return { url, output: () => out, waitFor, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A free loopback TCP port (closed again at once). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Runs a program; its exit code and output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** Whether a program is installed (on PATH or in /usr/sbin, /usr/bin). */
export function findProgram(name: string): string | null {
  for (
    const dir of [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/usr/bin", "/sbin"]
  ) {
    if (!dir) continue;
    try {
      const p = `${dir}/${name}`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/**
 * The programs a real-server test needs: the paths, or null after saying what is missing
 * (`scripts/test-deps.sh` installs them). Under CI=true a missing program fails the test.
 */
export function requirePrograms(names: string[]): Record<string, string> | null {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const p = findProgram(n);
    if (p) found[n] = p;
    else missing.push(n);
  }
  if (missing.length === 0) return found;
  const msg = `missing ${missing.join(", ")} (scripts/test-deps.sh installs them as root)`;
  if (Deno.env.get("CI") === "true") throw new Error(msg);
  console.log(`SKIPPED: ${msg}`);
  return null;
}
