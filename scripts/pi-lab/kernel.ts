/**
 * The Debian kernel pieces a board boots, fetched once by scripts/pi-lab/prepare.sh into the
 * machine-wide cache (scripts/lib/cache-dir.sh), and the lab's initramfs built from them on
 * the host (scripts/pi-lab/initramfs.sh).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PiBoard } from "./boards.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

/** What prepare.sh left for one architecture. */
export interface PreparedKernel {
  dir: string;
  version: string;
  vmlinuz: string;
  /** Path of board `b`'s device tree. */
  dtb(b: PiBoard): string;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout).trim();
}

/** Fetches (or reuses) the kernel pieces of `arch`. */
export async function prepareKernel(arch: PiBoard["arch"]): Promise<PreparedKernel> {
  const dir = (await sh("bash", [join(HERE, "prepare.sh"), arch])).split("\n").at(-1)!;
  const version = (await Deno.readTextFile(join(dir, "kernel-version"))).trim();
  return { dir, version, vmlinuz: join(dir, "vmlinuz"), dtb: (b) => join(dir, "dtbs", b.dtb) };
}

/** Builds an initramfs at `out` with `init` as /init and `extraDirs` copied on top. */
export async function buildInitramfs(
  k: PreparedKernel,
  init: string,
  out: string,
  extraDirs: string[] = [],
): Promise<void> {
  await sh("sh", [join(HERE, "initramfs.sh"), k.dir, init, out, ...extraDirs]);
}

/** The lab's scripts directory (lab-init.sh, netboot-init.sh). */
export const PI_LAB_DIR = HERE;
