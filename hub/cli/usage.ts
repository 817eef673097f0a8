/**
 * `cm`'s help texts and the checks that turn a typo into a clear usage error: the overall help,
 * `cm VERB --help`, "did you mean" for an unknown verb and the name of an unknown flag.
 */
import { ClusterError } from "../../shared/errors.ts";
import type { CliCommand } from "./command.ts";
import { HUBS_USAGE } from "./fleet/hubs_verb.ts";
import { SLURM_USAGE } from "./fleet/slurm_verb.ts";

/** The options every verb takes, with what they do. */
export const GLOBAL_FLAGS: Readonly<Record<string, string>> = {
  "--hub URL|NAME":
    "hub address (default $CM_HUB or http://127.0.0.1:4242; the scheme may be left out), or a hub's NAME in the hubs file",
  "-A":
    "run the verb (status, power, powerall, led, events, inventory) on every hub of the hubs file at once",
  "--timeout S": "-A and MODULE:N: a hub's deadline (default 10 s, 120 s for power)",
  "--token TOKEN":
    "admin token, sent on every call (default $CM_TOKEN, else $CM_DATA_DIR/token or .data/token); the read token is enough for reads",
  "--json": "machine-readable output",
  "--yes, -y":
    "switch running nodes off or cycle them without asking (also CM_ASSUME_YES=1); needed without a terminal",
  "--help, -h": "this help, or a verb's own with cm VERB --help",
};

function flagLines(flags: Readonly<Record<string, string>>, width: number): string[] {
  return Object.entries(flags).map(([f, what]) => `  ${f.padEnd(width)}  ${what}`);
}

/** The help text listing every verb. */
export function usage(commands: readonly CliCommand[]): string {
  const width = 40;
  return [
    "usage: cm [--hub URL|NAME] [--token TOKEN] [--json] [--yes] VERB ARGS…",
    "       cm -A [--timeout S] status|power|powerall|led|events|inventory ARGS…   (every hub)",
    "",
    ...commands.map((c) =>
      c.usage.length <= width
        ? `  ${c.usage.padEnd(width)}  ${c.summary}`
        : `  ${c.usage}\n  ${"".padEnd(width)}  ${c.summary}`
    ),
    "",
    `  ${HUBS_USAGE}`,
    `  ${"".padEnd(width)}  the hubs file ($CM_HUBS, else ~/.config/cm/hubs.json)`,
    `  ${SLURM_USAGE.padEnd(width)}  Slurm power saving: hosts to hubs, off/on with inrush limits`,
    "",
    ...flagLines(GLOBAL_FLAGS, 14),
    "",
    "cm VERB --help shows a verb's flags; cm completion bash prints shell completion.",
  ].join("\n");
}

/** `cm VERB --help`: the verb's usage, what it does, its flags and the global ones. */
export function verbHelp(c: CliCommand): string {
  const flags = c.flags ?? {};
  const width = Math.max(14, ...Object.keys(flags).map((f) => f.length));
  return [
    `usage: cm ${c.usage}`,
    "",
    `  ${c.summary}`,
    ...(c.help ? ["", ...c.help.split("\n").map((l) => (l ? `  ${l}` : ""))] : []),
    "",
    ...(Object.keys(flags).length ? [...flagLines(flags, width), ""] : []),
    "global options:",
    ...flagLines(GLOBAL_FLAGS, width),
  ].join("\n");
}

/** Edit distance (insert, delete, substitute, swap two neighbours). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The closest of `names` to `word`, if one is close enough to be a typo of it. */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = name.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.name : undefined;
}

/** The flag's name without an inline value: `--lines=5` → `--lines`. */
function flagName(arg: string): string {
  return arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
}

/**
 * Refuses, by name, the first argument that looks like a flag and is not one of the verb's.
 * Node ids and sets never start with "-". A verb that declares no `flags` at all (not even
 * `{}`) parses its own.
 */
export function checkFlags(c: CliCommand, args: readonly string[]): void {
  if (c.flags === undefined) return;
  const known = Object.keys(c.flags ?? {}).map((f) => f.split(" ")[0]);
  for (const a of args) {
    if (!a.startsWith("-") || a === "-") continue;
    const name = flagName(a);
    if (known.includes(name)) continue;
    const near = closest(name, known);
    throw new ClusterError(
      "bad_request",
      `unknown flag ${name}` + (near ? ` (did you mean ${near}?)` : "") + "; " +
        (known.length
          ? `cm ${c.name} takes ${known.join(", ")}`
          : `cm ${c.name} takes no flags of its own`) +
        ` (cm ${c.name} --help)`,
    );
  }
}
