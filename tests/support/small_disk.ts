/**
 * A real full disk for tests: a small tmpfs mounted on a fresh temp directory (needs root,
 * as the suite runs), which `fill()` fills to the last byte with a filler file and `free()`
 * empties again. The store on it fails the way it fails on a hub whose SD card is full
 * (SQLITE_FULL from the kernel's ENOSPC), not by a fake's say-so.
 */
import { join } from "node:path";

/** A mounted small tmpfs. */
export class SmallDisk {
  readonly dir: string;
  readonly #filler: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#filler = join(dir, ".filler");
  }

  /** Mounts a tmpfs of `mib` MiB on a new temp directory. */
  static async mount(mib: number): Promise<SmallDisk> {
    const dir = await Deno.makeTempDir({ prefix: `small-disk-${Deno.pid}-` });
    const out = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir],
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(dir);
      throw new Error(`mount tmpfs failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new SmallDisk(dir);
  }

  /** Fills the disk: afterwards no new block can be allocated. */
  async fill(): Promise<void> {
    const f = await Deno.open(this.#filler, { write: true, create: true, append: true });
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
        for (;;) {
          try {
            await f.write(chunk.subarray(0, size));
          } catch {
            break; // ENOSPC at this size: try smaller pieces
          }
        }
      }
    } finally {
      f.close();
    }
  }

  /** Frees the space `fill()` took. */
  async free(): Promise<void> {
    await Deno.remove(this.#filler).catch(() => {});
  }

  /** Unmounts and removes the directory. */
  async unmount(): Promise<void> {
    await new Deno.Command("umount", { args: ["-l", this.dir] }).output();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
