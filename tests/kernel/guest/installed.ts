/**
 * The installed hub and agent as processes, started from their units (units.ts) exactly as
 * systemd would start them, plus small HTTP helpers for the hub's REST API.
 */
import { parseUnit, resolveStart } from "./units.ts";

/** A started service. */
export interface Service {
  child: Deno.ChildProcess;
  argv: string[];
  /** Everything it printed so far (stdout and stderr interleaved by arrival). */
  output(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** Sends `signal` and waits for the exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

function spawn(argv: string[], env: Record<string, string>, cwd?: string): Service {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null", // as systemd's StandardInput=null: a TTY would let Deno prompt
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let code: Promise<number> | undefined;
  let done = false;
  child.status.then(() => done = true);
  return {
    child,
    argv,
    output: () => text,
    exited: () => done,
    stop(signal: Deno.Signal = "SIGTERM") {
      if (!code) {
        try {
          child.kill(signal);
        } catch { /* already exited */ }
        code = child.status.then(async (s) => {
          await pumped;
          return s.code;
        });
      }
      return code;
    },
  };
}

const BASE_ENV = { PATH: "/usr/bin:/bin", HOME: "/root", NO_COLOR: "1" };

/**
 * The hub, started as /etc/systemd/system/cluster-hub.service starts it, configured the way a
 * user configures it: `CM_HUB_ARGS` in /etc/cluster-hub/hub.env.
 */
export function startInstalledHub(hubArgs: string): Service {
  Deno.writeTextFileSync("/etc/cluster-hub/hub.env", `CM_HUB_ARGS="${hubArgs}"\n`);
  const unit = parseUnit(Deno.readTextFileSync("/etc/systemd/system/cluster-hub.service"));
  const { argv, env } = resolveStart(unit, BASE_ENV);
  // LimitNOFILE= as systemd applies it: the process starts with that open-file limit.
  const limited = unit.limitNofile
    ? ["/bin/sh", "-c", `ulimit -n ${unit.limitNofile} && exec "$@"`, "sh", ...argv]
    : argv;
  return spawn(limited, env, unit.workingDirectory);
}

/** The agent, started as cluster-agent.service starts it (the key handed over as a credential). */
export function startInstalledAgent(): Service {
  const unit = parseUnit(Deno.readTextFileSync("/etc/systemd/system/cluster-agent.service"));
  const creds = "/run/credentials/cluster-agent.service";
  Deno.mkdirSync(creds, { recursive: true });
  Deno.copyFileSync("/etc/cluster-agent/key", `${creds}/key`);
  const { argv, env } = resolveStart(unit, { ...BASE_ENV, CREDENTIALS_DIRECTORY: creds });
  for (const k of ["DENO_DIR", "TMPDIR"]) if (env[k]) Deno.mkdirSync(env[k], { recursive: true });
  return spawn(argv, env);
}

/** The hub's REST API on loopback. */
export class HubApi {
  constructor(readonly base: string, readonly token: string) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    // deno-lint-ignore no-explicit-any
  ): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, json };
  }

  /** True once /health answers. */
  async up(): Promise<boolean> {
    try {
      return (await this.call("GET", "/health")).status === 200;
    } catch {
      return false;
    }
  }
}
