/**
 * `completion bash`: a bash completion script for `cm`, generated from the verb list, so every
 * verb, its words (on, off, cycle, …) and its flags complete, and it cannot drift from the CLI.
 */
import { ClusterError } from "../../../shared/errors.ts";
import type { CliCommand } from "../command.ts";

/** Global flags completion offers everywhere. */
const GLOBAL = ["--hub", "--token", "--json", "--yes", "--help"];

/** The bash completion script for `commands`. */
export function bashCompletion(commands: readonly CliCommand[]): string {
  const cases = commands.map((c) => {
    const words = [
      ...(c.words ?? []),
      ...Object.keys(c.flags ?? {}).map((f) => f.split(" ")[0]),
      ...GLOBAL,
    ];
    return `    ${c.name}) words="${words.join(" ")}" ;;`;
  });
  return [
    "# bash completion for cm (cluster-hub). Load it with:",
    "#   source <(cm completion bash)",
    "# or install it: cm completion bash > ~/.local/share/bash-completion/completions/cm",
    "_cm() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" verb="" i words',
    '  case "$prev" in --hub|--token) COMPREPLY=(); return ;; esac',
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    '    case "${COMP_WORDS[i]}" in',
    "      --hub|--token) ((i++)) ;;",
    "      -*) ;;",
    '      *) verb="${COMP_WORDS[i]}"; break ;;',
    "    esac",
    "  done",
    '  if [[ -z "$verb" ]]; then',
    `    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")} ${
      GLOBAL.join(" ")
    }" -- "$cur"))`,
    "    return",
    "  fi",
    '  case "$verb" in',
    ...cases,
    `    *) words="${GLOBAL.join(" ")}" ;;`,
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    "}",
    "complete -F _cm cm",
    "",
  ].join("\n");
}

/** `cm completion bash`, for the verbs in `commands` (itself included). */
export function completionCommand(commands: () => readonly CliCommand[]): CliCommand {
  const command: CliCommand = {
    name: "completion",
    usage: "completion bash",
    summary: "print a bash completion script: source <(cm completion bash)",
    words: ["bash"],
    flags: {},
    run(ctx) {
      if (ctx.args.length !== 1 || ctx.args[0] !== "bash") {
        throw new ClusterError(
          "bad_request",
          `usage: ${command.usage} (only bash is supported; zsh can load it with bashcompinit)`,
        );
      }
      ctx.out(bashCompletion(commands()).trimEnd());
      return Promise.resolve(0);
    },
  };
  return command;
}
