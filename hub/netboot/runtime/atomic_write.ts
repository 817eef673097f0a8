/** Atomic file replacement: write a temporary file beside the target, then rename over it. */
import { basename, dirname, join } from "node:path";
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";

/**
 * Writes `content` to `path` atomically: readers see the old file or the new one, never a
 * partial write. Creates the parent directory. Returns false (and writes nothing) when the
 * file already holds exactly `content` with this mode.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  mode = 0o644,
): Promise<boolean> {
  const current = await readFile(path, "utf8").catch(() => null);
  if (current === content) {
    await chmod(path, mode);
    return false;
  }
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.writeFile(content, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return true;
}
