/**
 * The `qemu` power driver: each configured bay is a QEMU guest that boots from the network
 * (real PXE through the NIC's iPXE ROM) on a tap device of the cluster bridge. Power on starts
 * the guest (daemonized, with a pid file, so like a real rail it outlives a hub restart), off
 * stops it (SIGTERM, which QEMU takes as pulling the plug; SIGKILL if it lingers), and `read`
 * asks whether that QEMU process is alive. A bay without a guest reads off and cannot be
 * switched on. Each guest's serial console is a TCP port on 127.0.0.1 (or a unix socket),
 * which the console feature can connect to ({@link consoleTarget}), and is logged to a file.
 * A guest with `raspi` is an emulated Raspberry Pi (QEMU raspi3b): QEMU takes the kernel,
 * device tree, initramfs and command line that the Pi firmware would take from the hub's TFTP
 * files (pi_firmware.ts), read afresh at every power on.
 */
import { readFile, rm } from "node:fs/promises";
import { nodeHostname } from "../../shared/node_map.ts";
import { HardwareFault } from "../../shared/pins/errors.ts";
import { DriverClosedError } from "./errors.ts";
import type { PowerState } from "../../shared/schemas.ts";
import type { QemuGuestConfig, QemuPowerConfig } from "./power_config.ts";
import type { PowerSwitch } from "./power_switch.ts";
import { PI_FIRMWARE_BOARDS, type PiBoot, PiFirmwareError, resolvePiBoot } from "./pi_firmware.ts";

/** Where a guest's serial console can be reached. */
export type ConsoleTarget =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

/** The console address of node `node` under `config`, or null when the bay has no guest. */
export function consoleTarget(config: QemuPowerConfig, node: number): ConsoleTarget | null {
  const g = config.guests.find((x) => x.node === node);
  if (!g) return null;
  return "unix" in g.console
    ? { kind: "unix", path: g.console.unix }
    : { kind: "tcp", host: g.console.host, port: g.console.tcp };
}

/** The processes the driver starts and watches (real: the host; tests: a fake). */
export interface QemuHost {
  /** Runs a command to completion (QEMU with -daemonize returns once the guest runs). */
  run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }>;
  /** The pid in `pidFile` if that process is alive and was started with that pid file. */
  alivePid(pidFile: string): Promise<number | null>;
  /** Sends a signal; a process that is gone is ignored. */
  kill(pid: number, signal: Deno.Signal): void;
  sleep(ms: number): Promise<void>;
}

/** The real host: Deno.Command, /proc and kill(2). */
export const realQemuHost: QemuHost = {
  async run(cmd, args) {
    try {
      const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null" }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { code: 127, stderr: `${cmd} not found` };
      throw e;
    }
  },
  async alivePid(pidFile) {
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => null);
    return cmdline !== null && cmdline.split("\0").includes(pidFile) ? pid : null;
  },
  kill(pid, signal) {
    try {
      Deno.kill(pid, signal);
    } catch { /* gone already */ }
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** How long a guest may take to exit after SIGTERM before SIGKILL, and after SIGKILL. */
const TERM_MS = 5000;
const KILL_MS = 3000;
const POLL_MS = 50;

/** QEMU's command line for one guest (exported for tests and the docs); `boot` for a Pi. */
export function qemuArgs(config: QemuPowerConfig, g: QemuGuestConfig, boot?: PiBoot): string[] {
  const name = nodeHostname(g.node);
  const where = "unix" in g.console
    ? `path=${g.console.unix}`
    : `host=${g.console.host},port=${g.console.tcp}`;
  const common = [
    "-name",
    `cm-${name}`,
    "-accel",
    config.accel,
    "-display",
    "none",
    "-monitor",
    "none",
    "-daemonize",
    "-pidfile",
    pidFile(config, g.node),
    "-chardev",
    `socket,id=console,${where},server=on,wait=off,logfile=${config.stateDir}/${name}.console.log`,
    "-serial",
    "chardev:console",
    ...(g.qmp ? ["-qmp", `unix:${g.qmp},server=on,wait=off`] : []),
  ];
  if (g.raspi && boot) {
    // the machine's own memory and CPUs (a raspi3b is 1 GiB and four cores, nothing else)
    return [
      "-M",
      g.raspi.machine,
      ...common,
      "-kernel",
      boot.kernel,
      "-dtb",
      boot.dtb,
      ...(boot.initrd ? ["-initrd", boot.initrd] : []),
      "-append",
      boot.cmdline,
      "-netdev",
      `tap,id=net0,ifname=${g.tap},script=no,downscript=no`,
      "-device",
      `usb-net,netdev=net0,mac=${g.mac}`,
    ];
  }
  return [
    ...common,
    "-m",
    String(config.memoryMiB),
    "-smp",
    String(config.cpus),
    "-netdev",
    `tap,id=net0,ifname=${g.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=net0,mac=${g.mac}`,
    "-boot",
    "n",
  ];
}

function pidFile(config: QemuPowerConfig, node: number): string {
  return `${config.stateDir}/${nodeHostname(node)}.pid`;
}

/** Bays as QEMU guests. */
export class QemuPowerSwitch implements PowerSwitch {
  readonly name = "qemu";
  readonly #config: QemuPowerConfig;
  readonly #host: QemuHost;
  #closed = false;

  constructor(config: QemuPowerConfig, host: QemuHost = realQemuHost) {
    this.#config = config;
    this.#host = host;
  }

  #guest(node: number): QemuGuestConfig | undefined {
    if (this.#closed) throw new DriverClosedError("qemu");
    return this.#config.guests.find((g) => g.node === node);
  }

  async set(node: number, state: PowerState): Promise<void> {
    const g = this.#guest(node);
    const pid = await this.#host.alivePid(pidFile(this.#config, node));
    if (state === "on") {
      if (!g) {
        throw new HardwareFault(`qemu power driver: bay ${node} has no guest configured`, {
          node,
        });
      }
      if (pid !== null) return;
      await Deno.mkdir(this.#config.stateDir, { recursive: true });
      const boot = g.raspi ? await this.#piBoot(g) : undefined;
      const binary = g.raspi?.binary ?? this.#config.binary;
      const r = await this.#host.run(binary, qemuArgs(this.#config, g, boot));
      const started = r.code === 0 && await this.#host.alivePid(pidFile(this.#config, node));
      if (!started) {
        throw new HardwareFault(
          `node ${node}: could not start its QEMU guest (${binary} exited ${r.code}): ${
            r.stderr.trim().split("\n").slice(-3).join(" | ")
          }`,
          { node, state },
        );
      }
      return;
    }
    if (pid === null) return;
    const stopped = await this.#stop(node, pid, "SIGTERM", TERM_MS) ||
      await this.#stop(node, pid, "SIGKILL", KILL_MS);
    if (!stopped) {
      throw new HardwareFault(`node ${node}: its QEMU guest (pid ${pid}) does not exit`, {
        node,
        state,
      });
    }
    await rm(pidFile(this.#config, node), { force: true });
  }

  /** What the Pi firmware would boot from the files the hub serves now. */
  async #piBoot(g: QemuGuestConfig): Promise<PiBoot> {
    const raspi = g.raspi!;
    const exists = (p: string) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    };
    const find = (name: string) => raspi.bootDirs.map((d) => `${d}/${name}`).find(exists) ?? null;
    const text = async (name: string) => {
      const p = find(name);
      return p ? await readFile(p, "utf8") : null;
    };
    try {
      return resolvePiBoot(
        PI_FIRMWARE_BOARDS[raspi.machine],
        await text("config.txt"),
        await text("cmdline.txt"),
        find,
      );
    } catch (e) {
      if (!(e instanceof PiFirmwareError)) throw e;
      throw new HardwareFault(
        `node ${g.node}: ${e.message} in ${raspi.bootDirs.join(", ")}`,
        { node: g.node, state: "on" },
      );
    }
  }

  /** Signals node `node`'s QEMU (`pid`) and waits up to `ms` for it to exit; true if it did. */
  async #stop(node: number, pid: number, signal: Deno.Signal, ms: number): Promise<boolean> {
    this.#host.kill(pid, signal);
    const alive = async () => (await this.#host.alivePid(pidFile(this.#config, node))) === pid;
    for (let waited = 0; waited < ms; waited += POLL_MS) {
      if (!(await alive())) return true;
      await this.#host.sleep(POLL_MS);
    }
    return !(await alive());
  }

  async read(node: number): Promise<PowerState> {
    this.#guest(node);
    return (await this.#host.alivePid(pidFile(this.#config, node))) !== null ? "on" : "off";
  }

  /** Lets go of the guests without stopping them: like a rail, power outlives the hub. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
