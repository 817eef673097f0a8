/**
 * `deno task install:cm [--bin-dir DIR] [--mode bundle|source]`: puts a `cm` that starts fast
 * on PATH for development (default bin dir `$CM_BIN_DIR`, else `~/.local/bin`). Through
 * `npx -y deno@… task cm` every call first starts npm and then Deno's task runner; this shim
 * runs Deno directly, with the CLI's narrow permissions (docs/benchmarks.md has the figures).
 *
 * - `bundle` (default): `deno bundle` of hub/cli/main.ts into `.cache/cm/cm.js` in this
 *   checkout, run with `--no-config` (no config, lockfile or npm resolution at start). Run
 *   the task again after changing the CLI.
 * - `source`: runs hub/cli/main.ts from this checkout, `--cached-only`: always the current
 *   code, a little slower to start.
 *
 * Both default `CM_DATA_DIR` to this checkout's `.data` (where `deno task hub` keeps the
 * token), so `cm status` works from any directory.
 */
import { parseArgs } from "node:util";

/** How the shim runs the CLI. */
export type ShimMode = "bundle" | "source";

/** The CLI's permissions, as `deno task cm` gives them. */
export const CM_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-write",
] as const;

/** Single-quotes a word for sh. */
function q(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The text of the `cm` shim: `deno` runs `program` (a bundle or hub/cli/main.ts). */
export function cmShim(opts: { deno: string; repo: string; mode: ShimMode; program: string }) {
  const flags = opts.mode === "bundle"
    ? ["--no-config", "--cached-only", ...CM_PERMISSIONS]
    : ["--cached-only", ...CM_PERMISSIONS];
  return [
    "#!/bin/sh",
    `# cm for development (${opts.mode}), written by deno task install:cm from ${opts.repo}.`,
    `: "\${CM_DATA_DIR:=${opts.repo.replaceAll(/["$`\\]/g, "\\$&")}/.data}"`,
    "export CM_DATA_DIR",
    // Deno from npx lives in npx's cache, which can be cleaned: say what to do then.
    `[ -x ${q(opts.deno)} ] || { echo "cm: Deno is gone from ${
      opts.deno.replaceAll(/["$`\\]/g, "\\$&")
    }; run deno task install:cm again" >&2; exit 1; }`,
    `exec ${q(opts.deno)} run ${flags.join(" ")} ${q(opts.program)} "$@"`,
    "",
  ].join("\n");
}

/** Help text for `deno task install:cm --help`. */
export const INSTALL_CM_USAGE = `usage: deno task install:cm [--bin-dir DIR] [--mode bundle|source]

Writes a fast-starting \`cm\` to DIR (default $CM_BIN_DIR, else ~/.local/bin).
  --bin-dir DIR   where to write cm
  --mode MODE     bundle (default: one bundled file, fastest start) or source (this checkout's
                  hub/cli/main.ts, follows your edits)
  -h, --help      this help`;

/** Installs the shim; returns the exit code (2: bad usage). */
export async function main(args: string[] = Deno.args): Promise<number> {
  let values: { "bin-dir"?: string; mode?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        "bin-dir": { type: "string" },
        mode: { type: "string", default: "bundle" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    console.error(`install:cm: ${e instanceof Error ? e.message : e}\n${INSTALL_CM_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(INSTALL_CM_USAGE);
    return 0;
  }
  const mode = values.mode;
  if (mode !== "bundle" && mode !== "source") {
    console.error(`install:cm: --mode must be bundle or source, not ${mode}`);
    return 2;
  }
  const home = Deno.env.get("HOME");
  const binDir = values["bin-dir"] ?? Deno.env.get("CM_BIN_DIR") ??
    (home ? `${home}/.local/bin` : undefined);
  if (!binDir) {
    console.error("install:cm: give --bin-dir (no $HOME, no $CM_BIN_DIR)");
    return 2;
  }
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  let program = `${repo}/hub/cli/main.ts`;
  if (mode === "bundle") {
    await Deno.mkdir(`${repo}/.cache/cm`, { recursive: true });
    program = `${repo}/.cache/cm/cm.js`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "-o", program, "hub/cli/main.ts"],
      cwd: repo,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) {
      console.error("install:cm: deno bundle failed");
      return 1;
    }
  } else {
    // --cached-only needs the CLI's modules in Deno's cache.
    await new Deno.Command(Deno.execPath(), { args: ["cache", "hub/cli/main.ts"], cwd: repo })
      .output();
  }
  await Deno.mkdir(binDir, { recursive: true });
  const shim = `${binDir}/cm`;
  await Deno.writeTextFile(shim, cmShim({ deno: Deno.execPath(), repo, mode, program }));
  await Deno.chmod(shim, 0o755);
  const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(binDir);
  console.log(
    `install:cm: ${shim} (${mode})${onPath ? "" : `; ${binDir} is not on your PATH: add it`}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
