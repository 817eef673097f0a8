/**
 * Reads small system files under a filesystem root ("/" on a node, a fixture tree in tests).
 */
import { throwIfRefused } from "../shared/system_access.ts";

/** Joins `root` and an absolute path. */
export function underRoot(root: string, path: string): string {
  return root === "/" || root === "" ? path : `${root.replace(/\/+$/, "")}${path}`;
}

/** A system file's text as the readers here give it: device-tree NULs and outer whitespace gone. */
function systemText(raw: string): string {
  return raw.replace(/\0+/g, "").trim();
}

/**
 * What a failed read of `full` means: undefined ("cannot be read"; a NotFound is noted in
 * `absent`), unless Deno refused the path, which throws a SystemAccessError naming the fix.
 */
function unreadable(e: unknown, full: string, absent?: Set<string>): undefined {
  throwIfRefused(e, full);
  if (e instanceof Deno.errors.NotFound) absent?.add(full);
  return undefined;
}

/**
 * The text of `path` under `root`, with device-tree NULs and surrounding whitespace removed,
 * or undefined if it cannot be read. Deno's refusal of /proc, /sys or /dev (a process without
 * `--allow-all`) is not "cannot be read": it throws a SystemAccessError naming the fix.
 */
export async function readSmall(root: string, path: string): Promise<string | undefined> {
  const full = underRoot(root, path);
  try {
    return systemText(await Deno.readTextFile(full));
  } catch (e) {
    return unreadable(e, full);
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
    return systemText(Deno.readTextFileSync(full));
  } catch (e) {
    return unreadable(e, full, absent);
  }
}

/** How {@link readHealth}-style code reads a small file under a root (see the two below). */
export interface SmallFileReader {
  read(root: string, path: string, absent?: Set<string>): string | undefined;
}

/** Opens, reads and closes the file each time ({@link readSmallSync}). */
export const oneShotReader: SmallFileReader = { read: readSmallSync };

/**
 * Keeps each file open and reads it again from offset 0 each time: two system calls (lseek,
 * read) where {@link readSmallSync} makes six (openat, statx, lseek, read, read, close). /proc
 * and sysfs files are generated anew on each read from offset 0 (procps reads /proc/meminfo
 * so). A read that fails on a kept descriptor (a sysfs file whose device went away: ENODEV)
 * closes it and opens the file again at once, so it reads as {@link readSmallSync} would. (A
 * file replaced by a rename keeps reading as the old one: not a thing /proc and /sys do.) A read that
 * fills less than the buffer is taken as the whole file (these files are generated in one go).
 * Owned by one agent: {@link KeptFileReader.close} releases the descriptors.
 */
export class KeptFileReader implements SmallFileReader {
  readonly #files = new Map<string, Deno.FsFile>();
  #buf = new Uint8Array(4096);
  readonly #dec = new TextDecoder();

  /** Descriptors held now (tests). */
  get open(): number {
    return this.#files.size;
  }

  read(root: string, path: string, absent?: Set<string>): string | undefined {
    const full = underRoot(root, path);
    if (absent?.has(full)) return undefined;
    const kept = this.#files.get(full);
    if (kept) {
      try {
        kept.seekSync(0, Deno.SeekMode.Start);
        return this.#text(kept);
      } catch {
        this.#drop(full); // gone, replaced or failing: read it afresh below
      }
    }
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(full);
      const text = this.#text(file);
      this.#files.set(full, file);
      return text;
    } catch (e) {
      file?.close();
      return unreadable(e, full, absent);
    }
  }

  /** Closes every kept descriptor. The reader may be used again (it reopens). */
  close(): void {
    for (const path of [...this.#files.keys()]) this.#drop(path);
  }

  #drop(full: string): void {
    try {
      this.#files.get(full)?.close();
    } catch {
      // already closed
    }
    this.#files.delete(full);
  }

  #text(file: Deno.FsFile): string {
    let len = 0;
    while (true) {
      if (len === this.#buf.length) {
        if (len >= 1 << 20) throw new Error("file over 1 MiB");
        const bigger = new Uint8Array(len * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      const space = this.#buf.length - len;
      const n = file.readSync(this.#buf.subarray(len));
      if (n === null || n === 0) break;
      len += n;
      if (n < space) break;
    }
    return systemText(this.#dec.decode(this.#buf.subarray(0, len)));
  }
}
