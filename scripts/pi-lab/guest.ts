/**
 * Boots one emulated Raspberry Pi under QEMU (TCG): Debian's kernel, the board's own device
 * tree, an initramfs, and a network that is QEMU's user net, a tap on a lab bridge, or none.
 * The serial console goes to a file; QMP listens on a unix socket beside it, for the GPLEV0
 * sampler (gplev.ts) and for stopping the guest. Every guest started is stopped by `stop()`
 * (SIGTERM, then SIGKILL), and a test should call it in `finally`.
 */
import { dirname as dirOf, join } from "node:path";
import { type PiBoard } from "./boards.ts";
import { Qmp } from "./qmp.ts";

/** How the guest reaches a network. */
export type GuestNet =
  | { kind: "none" }
  /** QEMU's user net; `hostfwd` e.g. `tcp:127.0.0.1:40123-:4242` (host loopback to the guest). */
  | { kind: "user"; hostfwd?: string[] }
  | { kind: "tap"; tap: string; mac: string };

/** What to boot. */
export interface GuestOptions {
  board: PiBoard;
  /** Work directory for the console log and the QMP socket (created). */
  dir: string;
  kernel: string;
  dtb: string;
  /** An initramfs (none: the kernel's own, e.g. a card image's is passed here too). */
  initrd?: string;
  /** A raw disk image as the board's SD card (`-drive if=sd`: a size that is a power of 2). */
  sdCard?: string;
  /** Kernel command line (the board's console and extra arguments are added in front). */
  append: string;
  net?: GuestNet;
  /** Run QEMU inside this network namespace (for a tap there). */
  netns?: string;
  /** The serial console also takes input ({@link PiGuest.sendConsole}). */
  serialInput?: boolean;
}

/** The QEMU command line for `o` (pure; exported for tests and the docs). */
export function piQemuArgs(o: GuestOptions, qmpPath: string, consoleLog: string): string[] {
  const b = o.board;
  const net = o.net ?? { kind: "none" };
  const args = [
    "-M",
    b.machine,
    "-m",
    b.memory,
    "-kernel",
    o.kernel,
    "-dtb",
    o.dtb,
    ...(o.initrd ? ["-initrd", o.initrd] : []),
    ...(o.sdCard ? ["-drive", `if=sd,format=raw,file=${o.sdCard}`] : []),
    "-append",
    [`console=${b.console},115200`, ...b.extraCmdline, o.append].join(" ").trim(),
    "-display",
    "none",
    "-monitor",
    "none",
    ...(o.serialInput
      ? [
        "-chardev",
        `socket,id=s0,path=${serialSocket(o.dir)},server=on,wait=off,logfile=${consoleLog}`,
        "-serial",
        "chardev:s0",
      ]
      : ["-serial", `file:${consoleLog}`]),
    "-qmp",
    `unix:${qmpPath},server=on,wait=off`,
  ];
  if (net.kind === "user") {
    const fwd = (net.hostfwd ?? []).map((f) => `,hostfwd=${f}`).join("");
    args.push("-netdev", `user,id=n0${fwd}`, "-device", `${b.netDevice},netdev=n0`);
  }
  if (net.kind === "tap") {
    args.push(
      "-netdev",
      `tap,id=n0,ifname=${net.tap},script=no,downscript=no`,
      "-device",
      `${b.netDevice},netdev=n0,mac=${net.mac}`,
    );
  }
  return args;
}

function serialSocket(dir: string): string {
  return join(dir, "serial.sock");
}

/** A running guest. */
export class PiGuest {
  readonly qmpPath: string;
  readonly consoleLog: string;
  readonly #child: Deno.ChildProcess;
  #qmp: Qmp | null = null;
  #exited: Promise<Deno.CommandStatus>;
  #done = false;

  private constructor(child: Deno.ChildProcess, qmpPath: string, consoleLog: string) {
    this.#child = child;
    this.qmpPath = qmpPath;
    this.consoleLog = consoleLog;
    this.#exited = child.status.then((s) => {
      this.#done = true;
      return s;
    });
  }

  /** Starts QEMU and connects QMP. */
  static async start(o: GuestOptions): Promise<PiGuest> {
    await Deno.mkdir(o.dir, { recursive: true });
    const qmpPath = join(o.dir, "qmp.sock");
    const consoleLog = join(o.dir, "console.log");
    await Deno.remove(qmpPath).catch(() => {});
    await Deno.writeTextFile(consoleLog, "");
    const args = piQemuArgs(o, qmpPath, consoleLog);
    const [cmd, argv] = o.netns
      ? ["ip", ["netns", "exec", o.netns, o.board.qemu, ...args]]
      : [o.board.qemu, args];
    const child = new Deno.Command(cmd, {
      args: argv,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    })
      .spawn();
    const g = new PiGuest(child, qmpPath, consoleLog);
    const err = new Response(child.stderr).text();
    try {
      g.#qmp = await Promise.race([
        Qmp.connect(qmpPath, 20_000),
        g.#exited.then(async (s) => {
          throw new Error(`${o.board.qemu} exited ${s.code}: ${(await err).trim()}`);
        }),
      ]);
    } catch (e) {
      await g.stop();
      throw e;
    }
    err.catch(() => "");
    return g;
  }

  /** The QMP session (for the GPLEV0 sampler). */
  get qmp(): Qmp {
    if (!this.#qmp) throw new Error("the guest has no QMP session");
    return this.#qmp;
  }

  /** True once QEMU has exited. */
  get exited(): boolean {
    return this.#done;
  }

  /** The console so far. */
  async console(): Promise<string> {
    return await Deno.readTextFile(this.consoleLog).catch(() => "");
  }

  /** Waits until the console matches `re` (returns the match), or throws after `ms`. */
  async waitForConsole(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const until = performance.now() + ms;
    for (;;) {
      const text = await this.console();
      const m = text.match(re);
      if (m) return m;
      if (this.#done || performance.now() > until) {
        throw new Error(
          `${this.#done ? "QEMU exited" : `no ${re} on the console in ${ms} ms`}; console tail:\n${
            text.slice(-2000)
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Types `text` on the guest's serial console (started with `serialInput`). */
  async sendConsole(text: string): Promise<void> {
    const conn = await Deno.connect({
      transport: "unix",
      path: serialSocket(dirOf(this.consoleLog)),
    });
    try {
      await conn.write(new TextEncoder().encode(text));
    } finally {
      conn.close();
    }
  }

  /** Stops QEMU (SIGTERM, SIGKILL after 5 s) and waits for it. */
  async stop(): Promise<void> {
    this.#qmp?.close();
    this.#qmp = null;
    if (this.#done) return;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await this.#exited;
    clearTimeout(t);
  }
}
