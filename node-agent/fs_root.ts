/**
 * Reads small system files under a filesystem root ("/" on a node, a fixture tree in tests).
 */
import { throwIfRefused } from "../shared/system_access.ts";

/** Joins `root` and an absolute path. */
export function underRoot(root: string, path: string): string {
  return root === "/" || root === "" ? path : `${root.replace(/\/+$/, "")}${path}`;
}

/**
 * The text of `path` under `root`, with device-tree NULs and surrounding whitespace removed,
 * or undefined if it cannot be read. Deno's refusal of /proc, /sys or /dev (a process without
 * `--allow-all`) is not "cannot be read": it throws a SystemAccessError naming the fix.
 */
export async function readSmall(root: string, path: string): Promise<string | undefined> {
  const full = underRoot(root, path);
  try {
    return (await Deno.readTextFile(full)).replace(/\0+/g, "").trim();
  } catch (e) {
    throwIfRefused(e, full);
    return undefined;
  }
}

/**
 * `readSmall`, synchronously: for /proc and /sys files read every heartbeat, where a read
 * takes microseconds and an async read would hand each one to a worker thread and back.
 */
export function readSmallSync(
  root: string,
  path: string,
  /** Paths known not to exist: skipped, and a NotFound adds the path here. */
  absent?: Set<string>,
): string | undefined {
  const full = underRoot(root, path);
  if (absent?.has(full)) return undefined;
  try {
    return Deno.readTextFileSync(full).replace(/\0+/g, "").trim();
  } catch (e) {
    throwIfRefused(e, full);
    if (e instanceof Deno.errors.NotFound) absent?.add(full);
    return undefined;
  }
}
