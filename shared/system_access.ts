/**
 * Reading the kernel's files (/proc, /sys, /dev) under Deno's permission model.
 *
 * Deno 2.9 grants access to `/proc`, `/sys` and `/dev` only with `--allow-all`: an explicit
 * `--allow-read=/proc` does not help and the refusal is `Deno.errors.NotCapable` ("Requires
 * all access"). Such a refusal is a deployment fault, never "file absent": it must not turn
 * into "unknown model" or "not a Pi". {@link SystemAccessError} says what to do about it.
 */
import { ClusterError } from "./errors.ts";

/** Where the permission model is written down, for messages. */
export const PERMISSIONS_DOC = "docs/permissions.md";

/** Deno refused a /proc, /sys or /dev path because the process lacks `--allow-all`. */
export class SystemAccessError extends ClusterError {
  /** The path Deno refused. */
  readonly path: string;

  constructor(path: string) {
    super(
      "internal",
      `Deno refused access to ${path}: Deno grants /proc, /sys and /dev only to a process ` +
        `started with --allow-all (--allow-read is not enough). Start it with --allow-all, as ` +
        `the installed cluster-agent wrapper and cluster-hub.service do (${PERMISSIONS_DOC})`,
      { path },
    );
    this.name = "SystemAccessError";
    this.path = path;
  }
}

/** True if `e` is Deno's "Requires all access" refusal. */
export function isAllAccessRefusal(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}

/** Rethrows Deno's refusal as a {@link SystemAccessError} naming `path`; otherwise returns. */
export function throwIfRefused(e: unknown, path: string): void {
  if (isAllAccessRefusal(e)) throw new SystemAccessError(path);
}

/**
 * The text of a kernel file, or undefined if it cannot be read (absent, not readable by this
 * user, not a text file). Deno's permission refusal throws {@link SystemAccessError}.
 */
export async function readSystemText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throwIfRefused(e, path);
    return undefined;
  }
}

/** {@link readSystemText}, synchronously. */
export function readSystemTextSync(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throwIfRefused(e, path);
    return undefined;
  }
}
