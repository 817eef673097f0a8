/**
 * What every Pi lab test shares: whether the lab can run here (root, QEMU for the board, the
 * foreign architecture in apt), skipped with the reason otherwise, failed instead when
 * CI=true; one run's set-up and tear-down ({@link piLabTest}: its work directory, progress log,
 * Debian's kernel with an initramfs built for it, the guests it boots, stopped at its end); an
 * arm64 root for a guest; and short names for timings in the output.
 */
import { join } from "node:path";
import { type PiBoard } from "../../scripts/pi-lab/boards.ts";
import { type GuestOptions, PiGuest } from "../../scripts/pi-lab/guest.ts";
import { buildInitramfs, prepareKernel } from "../../scripts/pi-lab/kernel.ts";

const PROJ = new URL("../../", import.meta.url).pathname;

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

/** What a guest boots from Debian's kernel for its board: the first half of its options. */
export type KernelBoot = Pick<GuestOptions, "board" | "kernel" | "dtb" | "initrd">;

/** What {@link LabRun.start} takes: a guest's options, its directory the run's by default. */
export type LabGuestOptions = Omit<GuestOptions, "dir"> & { dir?: string };

/** The rest of {@link LabRun.boot}'s guest: its network, console input, what the root holds. */
export type LabBootOptions = Pick<GuestOptions, "net" | "serialInput"> & {
  /** Directories copied on top of the initramfs (e.g. a root with the product installed). */
  extraDirs?: string[];
};

/** One run of a Pi lab test (see {@link piLabTest}). */
export interface LabRun {
  /** The board the test is for. */
  readonly board: PiBoard;
  /** The run's own work directory: removed at its end when it passed, kept when it failed. */
  readonly dir: string;
  /** Prints a progress line, `[pi NAME +12.3s] …`. */
  log(line: string): void;
  /**
   * Debian's kernel for the board (scripts/pi-lab/prepare.sh: fetched once, then cached), its
   * device tree, and an initramfs built from the kernel into the run's directory
   * (`initrd.gz`) with `init` as /init and `extraDirs` copied on top.
   */
  initramfs(init: string, extraDirs?: string[]): Promise<KernelBoot>;
  /** Starts a guest (QEMU) and {@link LabRun.watch}es it. */
  start(o: LabGuestOptions): Promise<PiGuest>;
  /**
   * The lab's usual boot: {@link LabRun.initramfs} with `init`, then {@link LabRun.start} on
   * it with the kernel command line `append`, its files in the run's directory.
   */
  boot(init: string, append: string, o?: LabBootOptions): Promise<PiGuest>;
  /**
   * Stops `guest` at the run's end; when the run failed, its console's tail is printed first.
   * Returns it.
   */
  watch(guest: PiGuest): PiGuest;
  /** Something else to stop at the run's end, after its guests (e.g. the hub they report to). */
  atEnd(stop: () => Promise<void>): void;
  /** More to print when the run failed, after the guests' console tails. */
  onFailure(show: () => Promise<void>): void;
}

/** How much of a guest's console a failed run prints. */
const CONSOLE_TAIL = 4000;

/**
 * Runs `body` as the Pi lab run `name` for `board`: in a fresh work directory
 * (`pi-lab-NAME-…` in the temporary directory), logging as `pi NAME`. Whatever it started is
 * stopped at the end, passed or failed (its guests first, then what it gave
 * {@link LabRun.atEnd}, last given first); the directory is removed only when it passed.
 */
export async function labRun(
  name: string,
  board: PiBoard,
  body: (run: LabRun) => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  const log = (l: string) => console.log(`[pi ${name} +${secs(t0)}s] ${l}`);
  const dir = await Deno.makeTempDir({ prefix: `pi-lab-${name}-` });
  const guests: PiGuest[] = [];
  const stops: (() => Promise<void>)[] = [];
  const failureNotes: (() => Promise<void>)[] = [];
  const watch = (g: PiGuest) => {
    guests.push(g);
    return g;
  };
  const initramfs = async (init: string, extraDirs: string[] = []): Promise<KernelBoot> => {
    const k = await prepareKernel(board.arch);
    const initrd = join(dir, "initrd.gz");
    await buildInitramfs(k, init, initrd, extraDirs);
    log(`kernel ${k.version}, initramfs ${(Deno.statSync(initrd).size / 2 ** 20).toFixed(0)} MiB`);
    return { board, kernel: k.vmlinuz, dtb: k.dtb(board), initrd };
  };
  const start = async (o: LabGuestOptions) => watch(await PiGuest.start({ dir, ...o }));
  const run: LabRun = {
    board,
    dir,
    log,
    initramfs,
    start,
    boot: async (init, append, { extraDirs, ...o } = {}) =>
      await start({ ...await initramfs(init, extraDirs), append, ...o }),
    watch,
    atEnd: (stop) => void stops.push(stop),
    onFailure: (show) => void failureNotes.push(show),
  };
  let ok = false;
  try {
    await body(run);
    ok = true;
  } finally {
    if (!ok) {
      for (const g of guests) {
        console.error(`console tail:\n${(await g.console()).slice(-CONSOLE_TAIL)}`);
      }
      for (const show of failureNotes) await show();
    }
    for (const g of guests) await g.stop();
    for (const stop of stops.reverse()) await stop();
    if (ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (guests.length || stops.length) log("stopped what the run started");
  }
}

/**
 * Declares a Pi lab test for `board`: `Deno.test` without the op and resource sanitizers (QEMU,
 * its QMP socket and the lab's hub live across the test's awaits; the run stops them itself),
 * ignored when `skip` ({@link skipUnlessLab}), its body a {@link labRun} named `run`.
 */
export function piLabTest(
  name: string,
  o: { skip: boolean; board: PiBoard; run: string },
  body: (run: LabRun) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: o.skip,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => labRun(o.run, o.board, body),
  });
}

/** An arm64 root for a bare guest, and the userland it was copied from. */
export interface Arm64Root {
  /** The root (`DIR/root`), holding Debian's arm64 libc: what Deno for arm64 links against. */
  root: string;
  /** scripts/pi-lab/userland.sh's directory (cached): `root/` and `deno`, Deno for arm64. */
  userland: string;
}

/** Copies the lab's arm64 userland (fetched once by scripts/pi-lab/userland.sh) to `dir/root`. */
export async function arm64Root(dir: string): Promise<Arm64Root> {
  const userland =
    (await must("sh", [`${PROJ}scripts/pi-lab/userland.sh`, "arm64", Deno.version.deno])).trim();
  const root = join(dir, "root");
  await Deno.mkdir(root, { recursive: true });
  await must("cp", ["-a", `${userland}/root/.`, `${root}/`]);
  return { root, userland };
}
