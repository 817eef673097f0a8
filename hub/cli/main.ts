/**
 * `cm`: the command line for the hub, mirroring the vendor's tools
 * (`power N on`, `powerall on 1 60`, `testall`, `status`, `debugled`, `activetest`).
 */
import { join } from "node:path";
import { ClusterError } from "../../shared/errors.ts";
import { ApiClient } from "./api_client.ts";
import type { CliCommand, CliContext } from "./command.ts";
import { stderrTerminal, type Terminal } from "./progress_line.ts";
import type { ConsoleTerminal } from "./terminal.ts";
import { consoleCommand } from "./verbs/console.ts";
import { debugledCommand } from "./verbs/debugled.ts";
import { cancelCommand, jobCommand } from "./verbs/jobs.ts";
import { powerallCommand, powerCommand } from "./verbs/power.ts";
import { activetestCommand, bootstrapCommand, testallCommand } from "./verbs/run_job.ts";
import { statusCommand } from "./verbs/status.ts";
import { netbootCliCommands } from "./verbs/netboot.ts";
import { bootCommand } from "./verbs/boot.ts";
import { preflightCommand } from "./verbs/preflight.ts";
import { powerHealthCommand } from "./verbs/power_health.ts";
import { eventsCommand } from "./fleet/events_verb.ts";
import { inventoryCommand } from "./fleet/inventory_verb.ts";
import { type FleetIo, namedHubClient, runAllHubs, runModuleTargets } from "./fleet/fleet_cli.ts";
import { hubsFilePath } from "./fleet/hubs_file.ts";
import { HUBS_USAGE, runHubs } from "./fleet/hubs_verb.ts";
import { runSlurm, SLURM_USAGE } from "./fleet/slurm_verb.ts";

/** Every verb, in help order. */
export const COMMANDS: CliCommand[] = [
  statusCommand,
  powerCommand,
  powerallCommand,
  debugledCommand,
  powerHealthCommand,
  consoleCommand,
  testallCommand,
  activetestCommand,
  preflightCommand,
  bootstrapCommand,
  bootCommand,
  jobCommand,
  cancelCommand,
  eventsCommand,
  inventoryCommand,
  ...netbootCliCommands,
];

/** The help text. */
export function usage(): string {
  const width = 40;
  return [
    "usage: cm [--hub URL|NAME] [--token TOKEN] [--json] VERB ARGS…",
    "       cm -A [--timeout S] status|power|powerall|led|events|inventory ARGS…   (every hub)",
    "",
    ...COMMANDS.map((c) =>
      c.usage.length <= width
        ? `  ${c.usage.padEnd(width)}  ${c.summary}`
        : `  ${c.usage}\n  ${"".padEnd(width)}  ${c.summary}`
    ),
    "",
    `  ${HUBS_USAGE}`,
    `  ${"".padEnd(width)}  the hubs file ($CM_HUBS, else ~/.config/cm/hubs.json)`,
    `  ${SLURM_USAGE.padEnd(width)}  Slurm power saving: hosts to hubs, off/on with inrush limits`,
    "",
    "  --hub URL      hub address (default $CM_HUB or http://127.0.0.1:4242), or a hub's NAME",
    "  -A             run the verb on every hub of the hubs file at once; nodes as MODULE:N",
    "  --timeout S    -A and MODULE:N: a hub's deadline (default 10 s, 120 s for power)",
    "  --token TOKEN  admin token (default $CM_TOKEN, else $CM_DATA_DIR/token or .data/token)",
    "  --json         machine-readable output",
  ].join("\n");
}

/** The global options, wherever they stand, and everything else in order. */
interface GlobalOptions {
  hub?: string;
  token?: string;
  json: boolean;
  help: boolean;
  /** `-A`: every hub of the hubs file. */
  allHubs?: true;
  /** `--timeout S` in ms. */
  timeoutMs?: number;
  /** The verb and its arguments, including the verb's own flags (e.g. --force). */
  rest: string[];
}

/** Takes --hub, --token, --json and -h/--help out of `argv`; leaves verb flags in place. */
export function splitGlobalOptions(argv: readonly string[]): GlobalOptions {
  const out: GlobalOptions = { json: false, help: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    if (name === "--hub" || name === "--token") {
      const value = inline ?? argv[++i];
      if (value === undefined || value === "") throw new Error(`${name} needs a value`);
      out[name === "--hub" ? "hub" : "token"] = value;
    } else if (name === "--timeout") {
      const value = inline ?? argv[++i];
      const s = Number(value);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value ?? "") || s <= 0 || s > 3600) {
        throw new Error(`--timeout takes seconds above 0 and at most 3600, not "${value ?? ""}"`);
      }
      out.timeoutMs = Math.round(s * 1000);
    } else if (a === "-A" || a === "--all-hubs") out.allHubs = true;
    else if (a === "--json") out.json = true;
    else if (a === "-h" || a === "--help") out.help = true;
    else out.rest.push(a);
  }
  return out;
}

/** The admin token and where it came from (for error hints). */
function readToken(env: (n: string) => string | undefined): { token?: string; from: string } {
  const given = env("CM_TOKEN");
  if (given) return { token: given, from: "$CM_TOKEN" };
  const path = join(env("CM_DATA_DIR") ?? ".data", "token");
  try {
    return { token: Deno.readTextFileSync(path).trim(), from: path };
  } catch {
    return { from: `${path} (not readable)` };
  }
}

/** Runs the CLI; returns the exit code (0 ok, 1 failed operation, 2 usage error). */
export async function runCli(
  argv: string[],
  io: {
    out(l: string): void;
    err(l: string): void;
    terminal?: Terminal;
    consoleTerminal?: ConsoleTerminal;
  } = {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
    terminal: stderrTerminal(),
  },
  env: (n: string) => string | undefined = (n) => Deno.env.get(n),
  /** True when run as the `cm` program: Ctrl-C then cancels the job being followed. */
  interactive = false,
): Promise<number> {
  let parsed: GlobalOptions;
  try {
    parsed = splitGlobalOptions(argv);
  } catch (e) {
    io.err(`cm: ${e instanceof Error ? e.message : e}\n\n${usage()}`);
    return 2;
  }
  const [verb, ...args] = parsed.rest;
  if (parsed.help || !verb) {
    (parsed.help ? io.out : io.err)(usage());
    return parsed.help ? 0 : 2;
  }
  // A fleet of hubs (hub/cli/fleet/): cm hubs, -A, --hub NAME, MODULE:N.
  const fleetIo: FleetIo = { ...io, env, command: (n) => COMMANDS.find((c) => c.name === n) };
  const fleetOpts = { json: parsed.json, timeoutMs: parsed.timeoutMs };
  let namedHub: ApiClient | undefined;
  try {
    if (verb === "hubs") {
      return await runHubs(args, { ...io, path: hubsFilePath(env), json: parsed.json });
    }
    if (verb === "slurm") return await runSlurm(args, fleetOpts, fleetIo);
    if (parsed.allHubs) return await runAllHubs(verb, args, fleetOpts, fleetIo);
    const routed = parsed.hub === undefined
      ? await runModuleTargets(verb, args, fleetOpts, fleetIo)
      : null;
    if (routed !== null) return routed;
    const hubText = parsed.hub ?? env("CM_HUB");
    if (hubText !== undefined && !hubText.includes("://")) {
      namedHub = await namedHubClient(hubText, fleetIo);
    }
  } catch (e) {
    if (!(e instanceof ClusterError)) throw e;
    io.err(`cm ${verb}: ${e.message}`);
    return e.code === "bad_request" || e.code === "invalid_range" ? 2 : 1;
  }
  const command = COMMANDS.find((c) => c.name === verb);
  if (!command) {
    io.err(`cm: unknown verb "${verb}"\n\n${usage()}`);
    return 2;
  }
  const found = parsed.token ? { token: parsed.token, from: "--token" } : readToken(env);
  const ctx: CliContext = {
    api: namedHub ?? new ApiClient({
      baseUrl: parsed.hub ?? env("CM_HUB") ?? "http://127.0.0.1:4242",
      token: parsed.token ?? found.token,
    }),
    args,
    json: parsed.json,
    out: io.out,
    err: io.err,
    terminal: io.terminal,
    interactive,
    consoleTerminal: io.consoleTerminal,
  };
  try {
    return await command.run(ctx);
  } catch (e) {
    if (e instanceof ClusterError) {
      if (ctx.json) io.out(JSON.stringify({ error: { code: e.code, message: e.message } }));
      const hint = e.code === "unauthorized"
        ? ` (token from ${found.from}; for another hub set CM_TOKEN or CM_DATA_DIR)`
        : "";
      io.err(`cm ${verb}: ${e.message}${hint}`);
      return e.code === "bad_request" || e.code === "invalid_range" ? 2 : 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await runCli(Deno.args, undefined, undefined, true));
