/**
 * Reads small system files under a filesystem root ("/" on a node, a fixture tree in tests).
 */

/** Joins `root` and an absolute path. */
export function underRoot(root: string, path: string): string {
  return root === "/" || root === "" ? path : `${root.replace(/\/+$/, "")}${path}`;
}

/**
 * The text of `path` under `root`, with device-tree NULs and surrounding whitespace removed,
 * or undefined if it cannot be read.
 */
export async function readSmall(root: string, path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(underRoot(root, path))).replace(/\0+/g, "").trim();
  } catch {
    return undefined;
  }
}
