/**
 * `cm`: the command line for the hub, mirroring the vendor's tools
 * (`power N on`, `powerall on 1 60`, `testall`, `status`, `debugled`, `activetest`).
 */
import { join } from "node:path";
import { ClusterError } from "../../shared/errors.ts";
import { ApiClient } from "./api_client.ts";
import { type CliCommand, type CliContext, verbName } from "./command.ts";
import { envAssumesYes, terminalPrompt } from "./confirm.ts";
import { checkFlags, closest, usage as verbsUsage, verbHelp } from "./usage.ts";
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
import { agentKeyCommand } from "./verbs/agent_key.ts";
import { bayCommand } from "./verbs/bay.ts";
import { eventsCommand } from "./verbs/events.ts";
import { completionCommand } from "./verbs/completion.ts";

/** Error codes that are the caller's mistake: exit 2. */
const USAGE_ERRORS: ReadonlySet<string> = new Set(["bad_request", "invalid_range", "invalid_node"]);
import { inventoryCommand } from "./fleet/inventory_verb.ts";
import { type FleetIo, namedHubClient, runAllHubs, runModuleTargets } from "./fleet/fleet_cli.ts";
import { hubsFilePath } from "./fleet/hubs_file.ts";
import { runHubs } from "./fleet/hubs_verb.ts";
import { runSlurm } from "./fleet/slurm_verb.ts";

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
  inventoryCommand,
  ...netbootCliCommands,
  agentKeyCommand,
  bayCommand,
  eventsCommand,
  completionCommand(() => COMMANDS),
];

/** The help text listing every verb. */
export function usage(): string {
  return verbsUsage(COMMANDS);
}

/** The global options, wherever they stand, and everything else in order. */
interface GlobalOptions {
  hub?: string;
  token?: string;
  json: boolean;
  help: boolean;
  /** `--yes` / `-y`: no confirmation questions. */
  yes: boolean;
  /** `-A`: every hub of the hubs file. */
  allHubs?: true;
  /** `--timeout S` in ms. */
  timeoutMs?: number;
  /** The verb and its arguments, including the verb's own flags (e.g. --force). */
  rest: string[];
}

/** Takes --hub, --token, --json, --yes and -h/--help out of `argv`; leaves verb flags in place. */
export function splitGlobalOptions(argv: readonly string[]): GlobalOptions {
  const out: GlobalOptions = { json: false, help: false, yes: false, rest: [] };
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
    else if (a === "--yes" || a === "-y") out.yes = true;
    else if (a === "-h" || a === "--help") out.help = true;
    else out.rest.push(a);
  }
  return out;
}

/**
 * The hub's base URL from `--hub` or `CM_HUB`: `127.0.0.1:4242` or `hub.local` get `http://`
 * (a URL needs a scheme; people write the address). Anything still not a URL is a usage error.
 */
export function hubUrl(given: string | undefined): string {
  const raw = (given ?? "http://127.0.0.1:4242").trim();
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClusterError(
      "bad_request",
      `"${raw}" is not a hub address: use HOST:PORT or http://HOST:PORT (--hub or CM_HUB)`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ClusterError(
      "bad_request",
      `the hub address "${raw}" must be http:// or https:// (--hub or CM_HUB)`,
    );
  }
  return url;
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

/**
 * What to say when the hub refused the token: where cm looked, and the ways to give it one
 * (the hub's own message is written for curl users).
 */
function tokenHelp(hubMessage: string, found: { token?: string; from: string }): string {
  const ways = "pass --token TOKEN, set CM_TOKEN, or set CM_DATA_DIR to the hub's data " +
    "directory (its token file holds the admin token the hub printed on first start)";
  const what = /for reads/.test(hubMessage)
    ? "this hub requires a token for reads (its read token or the admin token)"
    : "this needs the hub's admin token";
  return found.token === undefined
    ? `${what}, and cm found none (looked at $CM_TOKEN and ${found.from}): ${ways}`
    : `${hubMessage.replace(/\.$/, "")} (the token came from ${found.from}): ${ways}`;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failed operation, 2 usage error). */
export async function runCli(
  argv: string[],
  io: {
    out(l: string): void;
    err(l: string): void;
    terminal?: Terminal;
    consoleTerminal?: ConsoleTerminal;
    /** Asks a question on the terminal (unset: no terminal to ask on). */
    prompt?: (question: string) => Promise<string | null>;
  } = {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
    terminal: stderrTerminal(),
    prompt: terminalPrompt(),
  },
  env: (n: string) => string | undefined = (n) => Deno.env.get(n),
  /** True when run as the `cm` program: Ctrl-C then cancels the job being followed. */
  interactive = false,
): Promise<number> {
  let parsed: GlobalOptions;
  try {
    parsed = splitGlobalOptions(argv);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (argv.includes("--json")) {
      io.out(JSON.stringify({ error: { code: "bad_request", message } }));
    }
    io.err(`cm: ${message}\n\n${usage()}`);
    return 2;
  }
  const [given, ...args] = parsed.rest;
  const verb = given === undefined ? given : verbName(given);
  /** An error: text on stderr, and with --json the same as JSON on stdout; returns the exit code. */
  const refuse = (code: string, message: string, text: string, exit = 2): number => {
    if (parsed.json) io.out(JSON.stringify({ error: { code, message } }));
    io.err(text);
    return exit;
  };
  if (!verb) {
    (parsed.help ? io.out : io.err)(usage());
    return parsed.help ? 0 : 2;
  }
  // A fleet of hubs (hub/cli/fleet/): cm hubs, -A, --hub NAME, MODULE:N.
  const fleetIo: FleetIo = { ...io, env, command: (n) => COMMANDS.find((c) => c.name === n) };
  const fleetOpts = {
    json: parsed.json,
    timeoutMs: parsed.timeoutMs,
    assumeYes: parsed.yes || envAssumesYes(env),
  };
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
    // A bare word (no scheme, port or dot) names a hub of the hubs file; HOST:PORT is an address.
    if (hubText !== undefined && !/[:./]/.test(hubText)) {
      namedHub = await namedHubClient(hubText, fleetIo);
    }
  } catch (e) {
    if (!(e instanceof ClusterError)) throw e;
    const usageError = e.code === "bad_request" || e.code === "invalid_range";
    return refuse(e.code, e.message, `cm ${verb}: ${e.message}`, usageError ? 2 : 1);
  }
  if (verb.startsWith("-")) {
    const message = `unknown flag ${verb.split("=")[0]}`;
    return refuse(
      "bad_request",
      message,
      `cm: ${message}; the global ones are listed below\n\n${usage()}`,
    );
  }
  const command = COMMANDS.find((c) => c.name === verb);
  if (!command) {
    const near = closest(verb, COMMANDS.map((c) => c.name));
    const message = `unknown verb "${verb}"${near ? `; did you mean "${near}"?` : ""}`;
    return refuse("bad_request", message, `cm: ${message} (cm --help lists them)`);
  }
  if (parsed.help) {
    io.out(verbHelp(command));
    return 0;
  }
  const found = parsed.token ? { token: parsed.token, from: "--token" } : readToken(env);
  let baseUrl: string;
  try {
    checkFlags(command, args);
    baseUrl = hubUrl(parsed.hub ?? env("CM_HUB"));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return refuse("bad_request", message, `cm ${verb}: ${message}`);
  }
  const ctx: CliContext = {
    api: namedHub ?? new ApiClient({ baseUrl, token: found.token }),
    args,
    json: parsed.json,
    out: io.out,
    err: io.err,
    terminal: io.terminal,
    interactive,
    consoleTerminal: io.consoleTerminal,
    assumeYes: parsed.yes || envAssumesYes(env),
    prompt: io.prompt,
    env,
  };
  try {
    return await command.run(ctx);
  } catch (e) {
    if (e instanceof ClusterError) {
      const text = `cm ${verb}: ${
        e.code === "unauthorized" ? tokenHelp(e.message, found) : e.message
      }`;
      return refuse(e.code, e.message, text, USAGE_ERRORS.has(e.code) ? 2 : 1);
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await runCli(Deno.args, undefined, undefined, true));
