/** The shape of one CLI verb; each verb lives in its own module and is listed in `main.ts`. */
import { ClusterError } from "../../shared/errors.ts";
import type { ApiClient } from "./api_client.ts";
import type { Terminal } from "./progress_line.ts";
import type { ConsoleTerminal } from "./terminal.ts";

/** What a verb gets to work with. */
export interface CliContext {
  api: ApiClient;
  /** Positional arguments after the verb. */
  args: string[];
  /** `--json`: print machine-readable JSON instead of tables. */
  json: boolean;
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr (progress, warnings). */
  err(line: string): void;
  /** stderr when it is a terminal: progress is redrawn in place there. Unset: line output. */
  terminal?: Terminal;
  /** false: do not install a Ctrl-C handler (in-process use, tests). Default true. */
  interactive?: boolean;
  /** The terminal `cm console` attaches (default: the process's own). */
  consoleTerminal?: ConsoleTerminal;
  /** `--yes` or `CM_ASSUME_YES=1`: switch running nodes off without asking. */
  assumeYes?: boolean;
  /**
   * Asks the person at the terminal and returns the line typed (null at end of input); unset
   * when stdin is no terminal (a script or a pipe: nothing may block waiting for an answer).
   */
  prompt?: (question: string) => Promise<string | null>;
  /** Environment variables (CM_HUB, CM_TOKEN, …). */
  env?: (name: string) => string | undefined;
}

/** One CLI verb, e.g. `power`. */
export interface CliCommand {
  name: string;
  /** e.g. "power N on|off|cycle" */
  usage: string;
  summary: string;
  /**
   * The verb's own flags, each with what it does: `cm VERB --help` lists them, shell completion
   * offers them, and any other flag is refused by name before the verb runs (`{}`: it takes
   * none; left out, the verb checks its arguments itself).
   */
  flags?: Readonly<Record<string, string>>;
  /** Sub-commands or fixed words completion offers after the verb (e.g. on, off, cycle). */
  words?: readonly string[];
  /** More lines for `cm VERB --help` (examples, what it leaves behind). */
  help?: string;
  /** Runs the verb; returns the process exit code. Throws ClusterError for user errors. */
  run(ctx: CliContext): Promise<number>;
}

/** Other names of verbs: `led` is `debugled` (on one hub, and on every hub with `-A`). */
export const VERB_ALIASES: Readonly<Record<string, string>> = { led: "debugled" };

/** The verb a name given on the command line stands for. */
export function verbName(given: string): string {
  return Object.hasOwn(VERB_ALIASES, given) ? VERB_ALIASES[given] : given;
}

/**
 * A node id as typed on the command line, before it goes into a URL: digits only (`3/../x`
 * never reaches a path). Whether the hub has that node, the hub says (`cm` does not know the
 * module's size).
 */
export function nodeIdArg(text: string): string {
  if (!/^[0-9]+$/.test(text)) {
    throw new ClusterError("invalid_node", `"${text}" is not a node id: use a whole number`);
  }
  return text;
}
