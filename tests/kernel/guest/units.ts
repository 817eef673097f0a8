/**
 * Starts the product the way it is installed: reads a systemd unit written by the installers
 * (ExecStart, Environment, EnvironmentFile, WorkingDirectory, LimitNOFILE) and runs its command line, with
 * the specifiers and variables systemd would fill in. No systemd in the guest: this is the
 * part of it the suite needs, so the flags under test are exactly the unit's.
 */

/** What a unit says about how to start its service. */
export interface UnitStart {
  /** ExecStart split into words (continuation lines joined). */
  argv: string[];
  env: Record<string, string>;
  workingDirectory?: string;
  environmentFiles: string[];
  /** LimitNOFILE (soft and hard), if the unit sets it. */
  limitNofile?: number;
}

/** Splits a systemd command line into words (double and single quotes, no escapes). */
function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** Parses the [Service] section of a unit file. */
export function parseUnit(text: string): UnitStart {
  const joined = text.replace(/\\\n/g, " ");
  const out: UnitStart = { argv: [], env: {}, environmentFiles: [] };
  for (const raw of joined.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || !line.includes("=")) continue;
    const key = line.slice(0, line.indexOf("="));
    const value = line.slice(line.indexOf("=") + 1).trim();
    if (key === "ExecStart") out.argv = splitWords(value);
    else if (key === "WorkingDirectory") out.workingDirectory = value;
    else if (key === "LimitNOFILE") out.limitNofile = Number(value);
    else if (key === "EnvironmentFile") out.environmentFiles.push(value.replace(/^-/, ""));
    else if (key === "Environment") {
      for (const w of splitWords(value)) {
        const i = w.indexOf("=");
        if (i > 0) out.env[w.slice(0, i)] = w.slice(i + 1);
      }
    }
  }
  return out;
}

/** Parses `KEY=value` / `KEY="value"` lines of an EnvironmentFile. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m) env[m[1]] = m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  }
  return env;
}

/**
 * The argv and environment of a unit's start: `%t` is /run, `${VAR}` and `$VAR` come from
 * `vars` (e.g. CREDENTIALS_DIRECTORY), the unit's Environment= and its EnvironmentFiles;
 * a bare `$VAR` word expands to several words, as systemd does.
 */
export function resolveStart(
  unit: UnitStart,
  vars: Record<string, string>,
): { argv: string[]; env: Record<string, string> } {
  const env: Record<string, string> = { ...vars };
  for (const [k, v] of Object.entries(unit.env)) env[k] = v.replaceAll("%t", "/run");
  for (const f of unit.environmentFiles) {
    try {
      Object.assign(env, parseEnvFile(Deno.readTextFileSync(f)));
    } catch { /* "-" prefix: optional */ }
  }
  const argv: string[] = [];
  for (const w of unit.argv) {
    const bare = w.match(/^\$([A-Za-z_][A-Za-z0-9_]*)$/);
    if (bare) {
      argv.push(...(env[bare[1]] ?? "").split(/\s+/).filter(Boolean));
      continue;
    }
    argv.push(
      w.replaceAll("%t", "/run").replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k) => env[k] ?? ""),
    );
  }
  return { argv, env };
}
