/**
 * What every Pi lab test shares: whether the lab can run here (root, QEMU for the board, the
 * foreign architecture in apt), skipped with the reason otherwise, failed instead when
 * CI=true; a per-run work directory; and short names for timings in the output.
 */
import { type PiBoard } from "../../scripts/pi-lab/boards.ts";

async function has(cmd: string): Promise<boolean> {
  const r = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .output();
  return r.code === 0;
}

/** Why the lab cannot run `board` here (null: it can), after scripts/pi-lab/deps.sh ran. */
export async function whyNot(board: PiBoard, extra: string[] = []): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root (apt-get download, namespaces and taps need root)";
  const missing = [];
  for (const c of [board.qemu, "cpio", "depmod", "apt-get", ...extra]) {
    if (!(await has(c))) missing.push(c);
  }
  if (missing.length) return `missing ${missing.join(", ")} (scripts/pi-lab/deps.sh installs them)`;
  return null;
}

/** `whyNot`, thrown under CI=true, else warned: the test's `ignore`. */
export async function skipUnlessLab(name: string, board: PiBoard, extra: string[] = []) {
  const why = await whyNot(board, extra);
  if (why && Deno.env.get("CI") === "true") throw new Error(`${name} cannot run: ${why}`);
  if (why) console.warn(`${name} skipped: ${why}`);
  return why !== null;
}

/** A fresh work directory for one run (removed by the caller when the run passed). */
export async function workDir(name: string): Promise<string> {
  return await Deno.makeTempDir({ prefix: `pi-lab-${name}-` });
}

/** Seconds since `t0` (performance.now()), for progress lines. */
export const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a host command; its stdout, or an error naming the command, its exit code and stderr. */
export async function must(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}
