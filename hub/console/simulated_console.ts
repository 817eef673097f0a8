/**
 * The simulated module's serial consoles. Each bay's console follows its rail: power on
 * prints a plausible Raspberry Pi boot log over the simulated boot time (kernel, NFS root,
 * systemd, the node agent), then a login prompt; any user name and password log in to a
 * small shell that echoes what is typed and knows a few commands (`echo`, `hostname`,
 * `uname -a`, `uptime`, `stty size` — the writer's window —, `exit`). Power off cuts it
 * mid-line, as on a real node. Like a real serial line, nothing is buffered while no one is
 * connected: the hub's link is always on.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Bay, NodeMap } from "../../shared/node_map.ts";
import type { Model, PowerState } from "../../shared/schemas.ts";
import type { SimulatedModule } from "../power/simulated_module.ts";
import type { ConsoleChannel, ConsoleSource } from "./console_source.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const KERNEL = "6.6.51+rpt-rpi-v8";

/** The device tree's model string each board prints at boot. */
const DT_MODEL: Record<Model, string> = {
  "pi3b": "Raspberry Pi 3 Model B Rev 1.2",
  "pi3b+": "Raspberry Pi 3 Model B Plus Rev 1.3",
  "pi4": "Raspberry Pi 4 Model B Rev 1.4",
  "pi0w": "Raspberry Pi Zero W Rev 1.1",
  "unknown": "Raspberry Pi",
};

/** The boot log of `bay`: [fraction of the boot time, line] pairs, in order. */
export function bootScript(bay: Bay, hubIp: string): [number, string][] {
  const model = DT_MODEL[bay.expectedModel];
  const nic = bay.lan ? "eth0" : "wlan0";
  const k = (t: number, text: string): string => `[${t.toFixed(6).padStart(12)}] ${text}`;
  return [
    [0.0, k(0, "Booting Linux on physical CPU 0x0000000000 [0x410fd034]")],
    [0.01, k(0, `Linux version ${KERNEL} (serge@raspberrypi.com) (aarch64-linux-gnu-gcc-12)`)],
    [0.02, k(0, `Machine model: ${model}`)],
    [
      0.04,
      k(
        0,
        // As the hub's netboot renders it (hub/netboot/render/cmdline.ts).
        `Kernel command line: console=serial0,115200 console=tty1 root=/dev/nfs nfsroot=${hubIp}:/pxe/root,vers=3 ro ip=dhcp rootwait cm.node=${bay.id}`,
      ),
    ],
    [0.08, k(0.000012, "Memory: 875432K/970752K available")],
    [0.12, k(0.034216, "smp: Brought up 1 node, 4 CPUs")],
    [0.2, k(1.203118, `${nic}: link up, 1000Mbps, full-duplex`)],
    [0.3, k(2.418833, `IP-Config: Got DHCP answer from ${hubIp}, my address is ${bay.ip}`)],
    [0.36, k(2.611004, `VFS: Mounted root (nfs filesystem) on device 0:22.`)],
    [0.4, k(2.702117, "Run /sbin/init as init process")],
    [0.45, "systemd[1]: systemd 252.33-1~deb12u1 running in system mode"],
    [0.5, `systemd[1]: Hostname set to <${bay.hostname}>.`],
    [0.6, "[  OK  ] Reached target local-fs.target - Local File Systems."],
    [0.7, "[  OK  ] Started systemd-journald.service - Journal Service."],
    [0.8, "[  OK  ] Reached target network-online.target - Network is Online."],
    [0.9, "[  OK  ] Started ssh.service - OpenBSD Secure Shell server."],
    [1.0, "[  OK  ] Started cluster-agent.service - Cluster Module node agent."],
    [1.0, ""],
    [1.0, `Debian GNU/Linux 12 ${bay.hostname} ttyS0`],
    [1.0, ""],
  ];
}

type ShellState = "off" | "booting" | "login" | "password" | "shell";

/** Boot faults the simulated module can inject (hub `--sim-faults`). */
export type SimulatedBootFault = "no_lease" | "no_heartbeat";

/** What a node that gets no DHCP lease prints, after which it waits forever. */
const NO_LEASE_LOG = [
  "[    2.418833] Sending DHCP requests ..., timed out!",
  "[   64.532117] IP-Config: Retrying forever (NFS root)...",
  "[   66.601002] Sending DHCP requests ....., timed out!",
];

/** The line of a boot whose agent never reports. */
const AGENT_FAILED = "[FAILED] Failed to start cluster-agent.service - Cluster Module node agent.";

/**
 * The node's side of one serial line: what it prints, and what it does with what it is sent.
 * Output goes to `sink` (the channel open now, if any).
 */
export class SimulatedNodeTty {
  readonly #bay: Bay;
  readonly #hubIp: string;
  readonly #clock: Clock;
  readonly #bootMs: number;
  #state: ShellState = "off";
  #line = "";
  #user = "";
  #boot: AbortController | null = null;
  #poweredAt = 0;
  /** The window size the hub passed on (a serial console's `stty size` says 0 0 without one). */
  #size = { cols: 0, rows: 0 };
  /** Where output goes (the hub's connection), or nowhere. */
  sink: ((data: Uint8Array) => void) | null = null;
  /**
   * The fault injected into the boot under way (the virtual cluster's `--sim-faults`), asked
   * when the boot reaches the network: the log then shows that boot failing, not a clean one.
   */
  bootFault: () => SimulatedBootFault | null | undefined = () => null;

  constructor(bay: Bay, hubIp: string, clock: Clock, bootMs: number) {
    this.#bay = bay;
    this.#hubIp = hubIp;
    this.#clock = clock;
    this.#bootMs = bootMs;
  }

  get state(): ShellState {
    return this.#state;
  }

  #print(text: string): void {
    this.sink?.(enc.encode(text));
  }

  #prompt(): void {
    this.#print(this.#state === "login" ? `${this.#bay.hostname} login: ` : this.#shellPrompt());
  }

  #shellPrompt(): string {
    return `${this.#user}@${this.#bay.hostname}:~$ `;
  }

  /** The writer's window size (what `stty rows R cols C` would set on a real node). */
  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
  }

  /** The bay's rail changed. */
  power(state: PowerState): void {
    this.#boot?.abort();
    this.#boot = null;
    this.#line = "";
    if (state === "off") {
      this.#state = "off";
      return;
    }
    if (this.#state !== "off") return;
    this.#state = "booting";
    this.#poweredAt = this.#clock.now();
    const ac = new AbortController();
    this.#boot = ac;
    const script = bootScript(this.#bay, this.#hubIp);
    (async () => {
      let fault: SimulatedBootFault | null | undefined;
      for (const [fraction, text] of script) {
        await this.#clock.sleepUntil(this.#poweredAt + fraction * this.#bootMs, ac.signal);
        if (ac.signal.aborted) return;
        if (text.includes("IP-Config: Got DHCP answer")) {
          fault = this.bootFault();
          if (fault === "no_lease") {
            // The kernel's ipconfig waits for a DHCP offer that never comes; no root, no login.
            for (const line of NO_LEASE_LOG) this.#print(`${line}\r\n`);
            return;
          }
        }
        if (fault === "no_heartbeat" && text.includes("Started cluster-agent.service")) {
          this.#print(`${AGENT_FAILED}\r\n`);
          continue;
        }
        this.#print(`${text}\r\n`);
      }
      this.#state = "login";
      this.#prompt();
    })();
  }

  /** Bytes typed at the node. */
  input(data: Uint8Array): void {
    if (this.#state === "off" || this.#state === "booting") return;
    for (const ch of dec.decode(data)) this.#key(ch);
  }

  #key(ch: string): void {
    const code = ch.charCodeAt(0);
    if (ch === "\r" || ch === "\n") {
      this.#print("\r\n");
      const line = this.#line;
      this.#line = "";
      this.#enter(line);
      return;
    }
    if (code === 0x7f || code === 0x08) {
      if (this.#line.length > 0) {
        this.#line = this.#line.slice(0, -1);
        if (this.#state !== "password") this.#print("\b \b");
      }
      return;
    }
    if (code === 0x03) { // Ctrl-C
      this.#line = "";
      this.#print("^C\r\n");
      if (this.#state === "password") this.#state = "login";
      this.#prompt();
      return;
    }
    if (code === 0x04 && this.#line === "" && this.#state === "shell") { // Ctrl-D
      this.#print("logout\r\n\r\n");
      this.#state = "login";
      this.#prompt();
      return;
    }
    if (code < 0x20) return;
    this.#line += ch;
    if (this.#state !== "password") this.#print(ch);
  }

  #enter(line: string): void {
    switch (this.#state) {
      case "login":
        if (line.trim() === "") return this.#prompt();
        this.#user = line.trim();
        this.#state = "password";
        this.#print("Password: ");
        return;
      case "password":
        this.#state = "shell";
        this.#print(
          `Linux ${this.#bay.hostname} ${KERNEL} #1 SMP PREEMPT Debian aarch64\r\n\r\n` +
            "This is a simulated node of the Cluster Module hub.\r\n",
        );
        return this.#prompt();
      case "shell":
        this.#run(line.trim());
        if (this.#state === "shell") this.#prompt();
        return;
    }
  }

  #run(line: string): void {
    const [cmd, ...args] = line.split(/\s+/);
    const out = (text: string) => this.#print(`${text}\r\n`);
    switch (cmd) {
      case "":
        return;
      case "echo":
        return out(args.join(" "));
      case "hostname":
        return out(this.#bay.hostname);
      case "uname":
        return out(
          args.includes("-a")
            ? `Linux ${this.#bay.hostname} ${KERNEL} #1 SMP PREEMPT Debian aarch64 GNU/Linux`
            : "Linux",
        );
      case "stty":
        return out(
          args[0] === "size"
            ? `${this.#size.rows} ${this.#size.cols}`
            : "stty: only 'stty size' here",
        );
      case "uptime": {
        const s = Math.round((this.#clock.now() - this.#poweredAt) / 1000);
        return out(` up ${s} s,  1 user,  load average: 0.08, 0.03, 0.01`);
      }
      case "exit":
      case "logout":
        this.#print("logout\r\n\r\n");
        this.#state = "login";
        return this.#prompt();
      default:
        return out(`-bash: ${cmd}: command not found`);
    }
  }
}

/** The hub's connection to a simulated node's serial line. */
class SimulatedChannel implements ConsoleChannel {
  readonly #tty: SimulatedNodeTty;
  readonly #queue: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(tty: SimulatedNodeTty) {
    this.#tty = tty;
    tty.sink = (data) => {
      this.#queue.push(data);
      this.#wake?.();
    };
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#queue.length === 0 && !this.#closed) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
    if (this.#closed) return null;
    const parts = this.#queue.splice(0);
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  write(data: Uint8Array): Promise<void> {
    if (!this.#closed) this.#tty.input(data);
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tty.sink = null;
    this.#wake?.();
  }

  resize(cols: number, rows: number): void {
    this.#tty.resize(cols, rows);
  }
}

/** A simulated bay's console as a `ConsoleSource`. */
class SimulatedConsoleSource implements ConsoleSource {
  readonly kind = "simulated";
  readonly describe: string;
  readonly #tty: SimulatedNodeTty;

  constructor(tty: SimulatedNodeTty, node: number) {
    this.#tty = tty;
    this.describe = `simulated serial console of node ${node}`;
  }

  open(): Promise<ConsoleChannel> {
    return Promise.resolve(new SimulatedChannel(this.#tty));
  }
}

/** Every bay's simulated console, following the simulated module's rails. */
export class SimulatedConsoles {
  readonly #ttys = new Map<number, SimulatedNodeTty>();
  readonly #unwatch: () => void;

  constructor(opts: { sim: SimulatedModule; map: NodeMap; clock: Clock; bootMs: number }) {
    for (const bay of opts.map.bays) {
      const tty = new SimulatedNodeTty(bay, opts.map.hub.ip, opts.clock, opts.bootMs);
      this.#ttys.set(bay.id, tty);
      opts.sim.read(bay.id).then((s) => s === "on" && tty.power("on"), () => {});
    }
    this.#unwatch = opts.sim.watchRails((node, state) => this.#ttys.get(node)?.power(state));
  }

  /** The console sources, by node. */
  sources(): Map<number, ConsoleSource> {
    return new Map(
      [...this.#ttys].map(([node, tty]) => [node, new SimulatedConsoleSource(tty, node)]),
    );
  }

  /** Asks `fault` which fault each boot carries (the virtual cluster's injected faults). */
  followFaults(fault: (node: number) => SimulatedBootFault | null | undefined): void {
    for (const [node, tty] of this.#ttys) tty.bootFault = () => fault(node);
  }

  /** The node side of bay `node`'s line (tests look at its state). */
  tty(node: number): SimulatedNodeTty | undefined {
    return this.#ttys.get(node);
  }

  /** Stops following the rails and ends every boot in progress. */
  close(): void {
    this.#unwatch();
    for (const tty of this.#ttys.values()) tty.power("off");
  }
}
