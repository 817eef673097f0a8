/**
 * The hubs file: every hub of a fleet by name, with its URL, token file, module name and pinned
 * TLS certificate. `~/.config/cm/hubs.json` (or `$XDG_CONFIG_HOME/cm/hubs.json`), or `CM_HUBS`.
 *
 * ```json
 * { "hubs": [ { "name": "row1", "url": "https://hub-row1:4242", "tokenFile": "/home/me/row1.token",
 *               "module": "NMEBW9HT", "tls": { "fingerprint": "SHA256:AB:…", "cert": "-----BEGIN…" } } ] }
 * ```
 */
import { dirname, join } from "node:path";
import { ClusterError } from "../../../shared/errors.ts";
import { parseModuleName } from "../../../shared/module_name.ts";

/** A certificate pinned on first use. */
export interface PinnedCert {
  /** `SHA256:` and the colon-separated hex digest of the DER certificate. */
  fingerprint: string;
  /** The certificate, PEM: the only one trusted for this hub. */
  cert: string;
}

/** One hub of the fleet. */
export interface HubEntry {
  /** What `--hub NAME` and the output call it. */
  name: string;
  url: string;
  /** Holds the hub's admin token (absolute path); none: reads only. */
  tokenFile?: string;
  /** The module the hub said it serves (learned on first use). */
  module?: string;
  /** An https hub's certificate, pinned on first use. */
  tls?: PinnedCert;
  /** Slurm's names for this module's nodes: PREFIX + node number (default `<module>-node`). */
  slurmPrefix?: string;
}

/** The whole file. */
export interface HubsFile {
  hubs: HubEntry[];
}

const HUB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Where the hubs file is: `CM_HUBS`, else the XDG config directory's `cm/hubs.json`. */
export function hubsFilePath(env: (n: string) => string | undefined): string {
  const given = env("CM_HUBS");
  if (given) return given;
  const config = env("XDG_CONFIG_HOME") || join(env("HOME") ?? ".", ".config");
  return join(config, "cm", "hubs.json");
}

/** Checks a hub's name as `cm hubs add` and `--hub NAME` take it. */
export function parseHubName(text: string): string {
  if (!HUB_NAME.test(text)) {
    throw new ClusterError(
      "bad_request",
      `a hub's name is 1 to 64 letters, digits, ".", "_" or "-", not ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/** Checks a hub URL: http or https, a host, nothing after the port. */
export function parseHubUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ClusterError("bad_request", `"${text}" is not a URL (e.g. https://hub-row1:4242)`);
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "") {
    throw new ClusterError(
      "bad_request",
      `a hub URL is http:// or https://HOST[:PORT], not "${text}"`,
    );
  }
  if (u.pathname !== "/" || u.search || u.hash || u.username) {
    throw new ClusterError("bad_request", `give the hub's URL without a path: ${u.origin}`);
  }
  return u.origin;
}

function bad(path: string, why: string): never {
  throw new ClusterError("bad_request", `${path}: ${why}`);
}

/** Validates the parsed file (a hand-edited file gets a message naming the field). */
export function validateHubsFile(data: unknown, path: string): HubsFile {
  if (typeof data !== "object" || data === null || !Array.isArray((data as HubsFile).hubs)) {
    bad(path, `expected {"hubs": [...]}`);
  }
  const seen = new Set<string>();
  const hubs = (data as { hubs: unknown[] }).hubs.map((h, i): HubEntry => {
    const at = `hubs[${i}]`;
    if (typeof h !== "object" || h === null) bad(path, `${at} is not an object`);
    const e = h as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!["name", "url", "tokenFile", "module", "tls", "slurmPrefix"].includes(key)) {
        bad(path, `${at} has an unknown field "${key}"`);
      }
    }
    if (typeof e.name !== "string") bad(path, `${at}.name is missing`);
    if (typeof e.url !== "string") bad(path, `${at}.url is missing`);
    const name = parseHubName(e.name);
    if (seen.has(name)) bad(path, `two hubs are named "${name}"`);
    seen.add(name);
    const out: HubEntry = { name, url: parseHubUrl(e.url) };
    if (e.tokenFile !== undefined) {
      if (typeof e.tokenFile !== "string") bad(path, `${at}.tokenFile must be a path`);
      out.tokenFile = e.tokenFile;
    }
    if (e.module !== undefined) out.module = parseModuleName(String(e.module));
    if (e.slurmPrefix !== undefined) {
      if (typeof e.slurmPrefix !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(e.slurmPrefix)) {
        bad(path, `${at}.slurmPrefix must be the start of Slurm's node names, e.g. "rowa-node"`);
      }
      out.slurmPrefix = e.slurmPrefix;
    }
    if (e.tls !== undefined) {
      const t = e.tls as Record<string, unknown>;
      if (
        typeof t !== "object" || t === null || typeof t.fingerprint !== "string" ||
        typeof t.cert !== "string" || !t.cert.includes("BEGIN CERTIFICATE")
      ) {
        bad(
          path,
          `${at}.tls must be {"fingerprint": "SHA256:…", "cert": "-----BEGIN CERTIFICATE…"}`,
        );
      }
      out.tls = { fingerprint: t.fingerprint, cert: t.cert };
    }
    return out;
  });
  return { hubs };
}

/** Reads the hubs file; a missing file is an empty fleet. */
export function loadHubsFile(path: string): HubsFile {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { hubs: [] };
    throw new ClusterError(
      "bad_request",
      `cannot read ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    bad(path, `not JSON (${e instanceof Error ? e.message : e})`);
  }
  return validateHubsFile(data, path);
}

/** Writes the hubs file whole (mode 0600: it names token files and pins certificates). */
export function saveHubsFile(path: string, file: HubsFile): void {
  try {
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${Deno.pid}`;
    Deno.writeTextFileSync(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
    Deno.renameSync(tmp, path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new ClusterError(
        "forbidden",
        `cannot write ${path} (${e.message}); cm needs --allow-write to keep its hubs file`,
      );
    }
    throw new ClusterError(
      "internal",
      `cannot write ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** The hub named `name`, or a not_found error listing the names there are. */
export function findHub(file: HubsFile, name: string, path: string): HubEntry {
  const hub = file.hubs.find((h) => h.name === name);
  if (!hub) {
    const names = file.hubs.map((h) => h.name).join(", ") || "none yet";
    throw new ClusterError(
      "not_found",
      `no hub named "${name}" in ${path} (hubs: ${names}); add it with cm hubs add ${name} URL`,
    );
  }
  return hub;
}
