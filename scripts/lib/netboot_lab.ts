/**
 * A netboot lab: the real hub process with QEMU guests as its bays, all inside one network
 * namespace, so nothing touches the host's network. What `deno task demo:netboot` and the
 * netboot end-to-end test (tests/kernel/netboot_e2e.test.ts) run.
 *
 *   namespace NS: bridge cmbr0 10.42.0.250/24 with one tap per guest (cmtapN);
 *                 the hub (hub/main.ts, --host 10.42.0.250), with --netboot-config in live
 *                 mode (its own dnsmasq, rpcbind and nfs-ganesha) and --power-config of the
 *                 `qemu` driver (bay N = a guest on cmtapN with MAC 52:54:00:c1:00:NN);
 *                 everything the hub starts sees a private /run (rpcbind's socket and lock).
 *   on disk:      DIR/pxe/{boot,root} (the cached image from scripts/image/, the agent
 *                 installed by install-agent.sh), DIR/etc, DIR/var, DIR/hub (data), DIR/qemu
 *                 (pid files, console logs).
 * Needs root, `ip`, `unshare`, `curl`, qemu-system-x86, dnsmasq, rpcbind, nfs-ganesha and
 * mmdebstrap (scripts/test-deps.sh installs them).
 *
 * With `board` (e.g. "pi3b+", from scripts/pi-lab/boards.ts) the bays are emulated Raspberry
 * Pis instead: the arm64 image (agent on Deno for arm64, real GPIO), config.txt rendered by the
 * hub (`configTxt`), and guests of the `qemu` driver's `raspi` kind that boot what the Pi
 * firmware would take from the hub's TFTP files (the node's own directory, then the root),
 * with a QMP socket each ({@link NetbootLab.qmpPath}) for reading GPLEV0 from outside.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { piBoard } from "../pi-lab/boards.ts";

const PROJ = join(dirname(fileURLToPath(import.meta.url)), "../..");
const HUB_IP = "10.42.0.250";
const BRIDGE = "cmbr0";

/**
 * `ip` arguments that run `argv` in network namespace `ns`, in a mount namespace of its own
 * where `runDir` is bind-mounted on `/run` (so rpcbind's and ganesha's sockets and locks never
 * touch the host's `/run`). Without `runDir`, just `ip netns exec ns argv…`.
 */
export function netnsExecArgs(ns: string, runDir: string | null, argv: string[]): string[] {
  const inNs = ["netns", "exec", ns];
  if (!runDir) return [...inNs, ...argv];
  return [
    ...inNs,
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$0" /run && exec "$@"',
    runDir,
    ...argv,
  ];
}

/** The MAC of guest (bay) `node`. */
export function labMac(node: number): string {
  return `52:54:00:c1:00:${node.toString(16).padStart(2, "0")}`;
}

/** Lab settings. */
export interface LabOptions {
  /** Work directory (on the same file system as .cache/image, so the root is hard links). */
  dir: string;
  /** Network namespace name (unique per run). */
  ns: string;
  /** Bays that are guests, e.g. [1] or [1, 2]. */
  nodes: number[];
  /** Guest memory, MiB (default 1024). */
  memoryMiB?: number;
  /** Extra flags for the hub. */
  hubArgs?: string[];
  /** Per-node overlays (netboot `overlays`): a learned node boots with cm.node and cm.overlay. */
  overlays?: boolean;
  /**
   * Also reach the hub from the host: a veth pair, host end 10.43.0.1/30 named `hostVeth`,
   * namespace end 10.43.0.2, and the hub listens on every address of the namespace; the
   * dashboard is then http://10.43.0.2:4242/ on this machine (`deno task demo:netboot`).
   */
  hostVeth?: string;
  /**
   * Test instrumentation in the image copy: the agent also logs to the serial console, and a
   * oneshot unit prints the guest's root mount and kernel command line there.
   */
  instrument?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Bays are emulated Raspberry Pis of this Pi lab board (e.g. "pi3b+"), not PCs. */
  board?: string;
}

/** A command's outcome. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<Ran> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function must(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const r = await run(cmd, args, env);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

const INSTRUMENT_SCRIPT = `#!/bin/sh
# netboot lab only: what the test checks, on the serial console.
echo "cm-lab: root $(grep ' / ' /proc/mounts | grep -v rootfs | tail -n 1)" >/dev/console
echo "cm-lab: cmdline $(cat /proc/cmdline)" >/dev/console
`;

// what the node read over NFS to start its agent: the agent's resident share of the Deno binary
// (smaps Rss of its mappings), the binary's bytes in the page cache (fincore: what was read,
// readahead included), the root's readahead, the kernel modules loaded (their number, size in
// memory and names) and its NFS client counters (mountstats)
const FOOTPRINT_SCRIPT = `#!/bin/sh
# netboot lab only: what the node read to start its agent, on the serial console.
say() { echo "cm-lab: $*" >/dev/console; }
pid=0
while [ "$pid" = 0 ] || [ -z "$pid" ]; do
  sleep 2
  pid=$(systemctl show -p MainPID --value cluster-agent.service 2>/dev/null)
done
bin=$(readlink /proc/$pid/exe)
for i in 1 2 3 4 5 6 7 8 9 10; do
sleep 20
say "agent pid $pid exe $bin uptime $(cut -d' ' -f1 /proc/uptime)"
say "exe resident $(busybox awk -v b="$bin" '/^[0-9a-f]+-[0-9a-f]+ /{f=($NF==b)} f&&/^Rss:/{s+=$2} END{print s}' /proc/$pid/smaps) kB of $(($(stat -c %s "$bin") / 1024)) kB; page cache $(fincore -b -n -o RES "$bin") bytes"
say "root read_ahead_kb $(cat /sys/class/bdi/$(mountpoint -d /)/read_ahead_kb) mount $(grep ' / nfs' /proc/mounts | tail -n 1)"
say "modules $(busybox awk '{n++; s+=$2; l=l" "$1} END{print n" loaded, "int(s/1024)" kB:"l}' /proc/modules)"
busybox awk '/^device /{m=$5} m=="/"&&/^[ \t]*(bytes|READ|GETATTR|LOOKUP|ACCESS|READLINK):/{$1=$1; print "cm-lab: nfs / " $0} m=="/cm/state"&&/^[ \t]*(bytes|WRITE|CREATE|SETATTR|GETATTR|LOOKUP|ACCESS|COMMIT|MKDIR):/{$1=$1; print "cm-lab: nfs /cm/state " $0}' /proc/self/mountstats >/dev/console
done
`;
/** A oneshot or simple service that runs a lab script from multi-user.target. */
function labUnit(description: string, after: string, type: string, exec: string): string {
  return `[Unit]
Description=${description}
After=${after}

[Service]
Type=${type}
ExecStart=${exec}

[Install]
WantedBy=multi-user.target
`;
}

/** The lab's own services in the node's root: name, script, unit. */
const LAB_SERVICES = [
  {
    name: "cm-lab-report",
    script: INSTRUMENT_SCRIPT,
    unit: labUnit(
      "netboot lab: report the root mount and command line on the console",
      "local-fs.target",
      "oneshot",
      "/usr/local/sbin/cm-lab-report",
    ),
  },
  {
    name: "cm-lab-footprint",
    script: FOOTPRINT_SCRIPT,
    unit: labUnit(
      "netboot lab: report what the node read to start its agent",
      "cluster-agent.service",
      "simple",
      "/usr/local/sbin/cm-lab-footprint",
    ),
  },
];

/** A running lab. */
export class NetbootLab {
  readonly o: LabOptions;
  readonly token = crypto.randomUUID().replaceAll("-", "");
  readonly agentKey = crypto.randomUUID().replaceAll("-", "");
  #hub: Deno.ChildProcess | null = null;
  #hubLog: Deno.FsFile | null = null;

  private constructor(o: LabOptions) {
    this.o = o;
  }

  /** The hub's URL inside the namespace (what the guests use too). */
  get hubUrl(): string {
    return `http://${HUB_IP}:4242`;
  }

  /** Where guest `node`'s serial console is logged. */
  consoleLog(node: number): string {
    return `${this.o.dir}/qemu/node${String(node).padStart(2, "0")}.console.log`;
  }

  /** Guest `node`'s QMP socket (Pi boards), for reading its GPIO registers from outside. */
  qmpPath(node: number): string {
    return `${this.o.dir}/qemu/node${String(node).padStart(2, "0")}.qmp`;
  }

  /** The hub's own output. */
  get hubLog(): string {
    return `${this.o.dir}/hub.log`;
  }

  #log(line: string): void {
    this.o.log?.(line);
  }

  /**
   * Builds (or reuses) the image, puts it in place with the agent, creates the namespace,
   * bridge and taps, writes the hub's configs and starts the hub. The NFS server starts only
   * after the image is built (a server started while mmdebstrap had /proc mounted in the
   * chroot kept those mounts, and the guest froze).
   */
  static async start(o: LabOptions): Promise<NetbootLab> {
    const lab = new NetbootLab(o);
    try {
      await lab.#start();
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return lab;
  }

  async #start(): Promise<void> {
    const d = this.o.dir;
    await mkdir(`${d}/hub`, { recursive: true });
    await mkdir(`${d}/run/lock`, { recursive: true }); // the private /run (hub lock, rpcbind)
    await mkdir(`${d}/qemu`, { recursive: true });
    const keyFile = `${d}/agent-key`;
    await writeFile(keyFile, this.agentKey + "\n", { mode: 0o600 });

    const t0 = performance.now();
    // With overlays each node gets its own key there and the hub refuses the shared one;
    // without, one shared root can only carry the old shared key.
    const board = this.o.board ? piBoard(this.o.board) : null;
    const out = (await must("sh", [
      `${PROJ}/scripts/image/image.sh`,
      "--out",
      d,
      "--hub",
      `http://${HUB_IP}:4242`,
      ...(this.o.overlays ? ["--key-from-overlay"] : ["--key-file", keyFile]),
      ...(board
        // a Pi: the arm64 image, the agent's default GPIO backend on the board's own GPIO, and
        // the Deno for arm64 that install-agent.sh fetches
        ? ["--arch", board.arch]
        // a VM has no GPIO; the agent simulates its LED line
        : ["--gpio-backend", "sim", "--deno-binary", Deno.execPath()]),
    ])).trim();
    this.#log(`image ready at ${out} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const root = `${d}/pxe/root`;
    if (this.o.instrument) {
      const dropIn = `${root}/etc/systemd/system/cluster-agent.service.d`;
      await mkdir(dropIn, { recursive: true });
      await writeFile(
        `${dropIn}/lab-console.conf`,
        "[Service]\nStandardOutput=journal+console\nStandardError=journal+console\n",
      );
      for (const { name, script, unit } of LAB_SERVICES) {
        await writeFile(`${root}/usr/local/sbin/${name}`, script, { mode: 0o755 });
        await writeFile(`${root}/etc/systemd/system/${name}.service`, unit);
        const wants = `${root}/etc/systemd/system/multi-user.target.wants/${name}.service`;
        await rm(wants, { force: true });
        await Deno.symlink(`/etc/systemd/system/${name}.service`, wants);
      }
    }

    const ns = this.o.ns;
    await must("ip", ["netns", "add", ns]);
    const inNs = (args: string[]) => must("ip", ["netns", "exec", ns, ...args]);
    await inNs(["ip", "link", "set", "lo", "up"]);
    await inNs(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    await inNs(["ip", "addr", "add", `${HUB_IP}/24`, "dev", BRIDGE]);
    await inNs(["ip", "link", "set", BRIDGE, "up"]);
    for (const n of this.o.nodes) {
      await inNs(["ip", "tuntap", "add", "dev", `cmtap${n}`, "mode", "tap"]);
      await inNs(["ip", "link", "set", `cmtap${n}`, "master", BRIDGE]);
      await inNs(["ip", "link", "set", `cmtap${n}`, "up"]);
    }

    if (this.o.hostVeth) {
      const peer = `${this.o.hostVeth}n`.slice(0, 15);
      await must("ip", ["link", "add", this.o.hostVeth, "type", "veth", "peer", "name", peer]);
      await must("ip", ["link", "set", peer, "netns", ns]);
      await must("ip", ["addr", "add", "10.43.0.1/30", "dev", this.o.hostVeth]);
      await must("ip", ["link", "set", this.o.hostVeth, "up"]);
      await inNs(["ip", "addr", "add", "10.43.0.2/30", "dev", peer]);
      await inNs(["ip", "link", "set", peer, "up"]);
    }

    const netboot = {
      clusterInterface: BRIDGE,
      uplinkInterface: "cmnouplink0",
      upstreamDns: [],
      dnsmasqUser: "root",
      mode: "live",
      nfsServer: "ganesha",
      learningLeaseTime: "2m",
      overlays: this.o.overlays ?? false,
      configTxt: board !== null,
      // a Pi's console on its serial port last: that is /dev/console, which the lab logs
      ...(board ? { cmdlinePrefix: "console=tty1 console=serial0,115200 net.ifnames=0" } : {}),
      paths: {
        configDir: `${d}/etc/netboot`,
        tftpRoot: `${d}/pxe/boot`,
        nfsRoot: root,
        overlayDir: `${d}/pxe/overlay`,
        leaseFile: `${d}/var/dnsmasq.leases`,
        eventsFile: `${d}/var/dhcp-events.log`,
        pidFile: `${d}/var/dnsmasq.pid`,
        exportsFile: `${d}/etc/exports`,
        ganeshaConfig: `${d}/etc/ganesha.conf`,
        ganeshaStateDir: `${d}/var/ganesha`,
        rulesV4File: `${d}/etc/rules.v4`,
        sysctlFile: `${d}/etc/sysctl.conf`,
      },
    };
    const power = {
      driver: "qemu",
      stateDir: `${d}/qemu`,
      memoryMiB: this.o.memoryMiB ?? 1024,
      guests: this.o.nodes.map((n) => ({
        node: n,
        mac: labMac(n),
        tap: `cmtap${n}`,
        console: { tcp: 5500 + n },
        ...(board
          ? {
            qmp: this.qmpPath(n),
            raspi: {
              machine: board.machine,
              bootDirs: [`${d}/pxe/boot/10.42.0.${n}`, `${d}/pxe/boot`],
            },
          }
          : {}),
      })),
      // the hub's console feature reads each guest's serial console from the driver's socket
      consoles: this.o.nodes.map((n) => ({
        node: n,
        type: "tcp",
        host: "127.0.0.1",
        port: 5500 + n,
      })),
    };
    await writeFile(`${d}/netboot.json`, JSON.stringify(netboot, null, 2));
    await writeFile(`${d}/power.json`, JSON.stringify(power, null, 2));

    this.#hubLog = await Deno.open(this.hubLog, { write: true, create: true, truncate: true });
    this.#hub = new Deno.Command("ip", {
      args: netnsExecArgs(ns, `${d}/run`, [
        Deno.execPath(),
        "run",
        "--allow-all",
        `${PROJ}/hub/main.ts`,
        "--host",
        this.o.hostVeth ? "0.0.0.0" : HUB_IP,
        "--port",
        "4242",
        "--data-dir",
        `${d}/hub`,
        "--token",
        this.token,
        "--agent-key",
        this.agentKey,
        ...(this.o.overlays ? ["--no-shared-agent-key"] : []),
        "--netboot-config",
        `${d}/netboot.json`,
        "--power-config",
        `${d}/power.json`,
        ...(this.o.hubArgs ?? []),
      ]),
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log = this.#hubLog;
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) await log.write(chunk).catch(() => 0);
    };
    pump(this.#hub.stdout).catch(() => {});
    pump(this.#hub.stderr).catch(() => {});
    // up once it answers and has read its rails ("hub: ready"): before that it refuses power
    // commands (503 not_ready)
    for (let i = 0; i < 150; i++) {
      const r = await this.api("GET", "/module").catch(() => null);
      const ready = (await Deno.readTextFile(this.hubLog).catch(() => "")).includes("hub: ready");
      if (r && r.status === 200 && ready) {
        this.#log(`hub up (${(r.body as { powerDriver: string }).powerDriver} power driver)`);
        return;
      }
      const st = await Promise.race([
        this.#hub.status,
        new Promise((r) => setTimeout(r, 200, null)),
      ]);
      if (st) throw new Error(`the hub exited: ${await Deno.readTextFile(this.hubLog)}`);
    }
    throw new Error(`the hub did not answer in 30 s: ${await Deno.readTextFile(this.hubLog)}`);
  }

  /** Calls the hub's REST API (from inside the namespace, with the admin token). */
  async api(
    method: string,
    path: string,
    body?: unknown,
    token = this.token,
  ): Promise<{ status: number; body: unknown }> {
    const args = [
      "netns",
      "exec",
      this.o.ns,
      "curl",
      "-s",
      "-m",
      "10",
      "-X",
      method,
      "-H",
      `Authorization: Bearer ${token}`,
      "-w",
      "\n%{http_code}",
    ];
    if (body !== undefined) {
      args.push("-H", "Content-Type: application/json", "--data", JSON.stringify(body));
    }
    const r = await run("ip", [...args, `${this.hubUrl}/api/v1${path}`]);
    if (r.code !== 0) throw new Error(`curl ${method} ${path} failed (${r.code}): ${r.stderr}`);
    const cut = r.stdout.lastIndexOf("\n");
    const text = r.stdout.slice(0, cut);
    return { status: Number(r.stdout.slice(cut + 1)), body: text ? JSON.parse(text) : null };
  }

  /**
   * Bytes through guest `node`'s tap so far: `toGuest` is what the LAN (dnsmasq, TFTP, NFS,
   * the hub) sent the guest, `fromGuest` what it sent.
   */
  async tapBytes(node: number): Promise<{ toGuest: number; fromGuest: number }> {
    const out = await must("ip", [
      "netns",
      "exec",
      this.o.ns,
      "ip",
      "-j",
      "-s",
      "link",
      "show",
      `cmtap${node}`,
    ]);
    const s = (JSON.parse(out) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[])[
      0
    ].stats64;
    return { toGuest: s.tx.bytes, fromGuest: s.rx.bytes };
  }

  /** Runs the `cm` CLI inside the namespace against this hub. */
  cm(args: string[]): Promise<Ran> {
    return run("ip", [
      "netns",
      "exec",
      this.o.ns,
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      `${PROJ}/hub/cli/main.ts`,
      "--hub",
      this.hubUrl,
      "--token",
      this.token,
      ...args,
    ], { DENO_NO_UPDATE_CHECK: "1" });
  }

  /** Stops the hub, everything left in the namespace (guests included) and the namespace. */
  async stop(): Promise<void> {
    const hub = this.#hub;
    this.#hub = null;
    if (hub) {
      try {
        hub.kill("SIGTERM");
      } catch { /* gone */ }
      const done = await Promise.race([
        hub.status.then(() => true),
        new Promise((r) => setTimeout(r, 10_000, false)),
      ]);
      if (!done) {
        try {
          hub.kill("SIGKILL");
        } catch { /* gone */ }
        await hub.status;
      }
    }
    await run("sh", [`${PROJ}/scripts/netboot/netns-teardown.sh`, this.o.ns]);
    // the host end of the demo's veth goes with its peer; make sure
    if (this.o.hostVeth) await run("ip", ["link", "del", this.o.hostVeth]);
    try {
      this.#hubLog?.close();
    } catch { /* closed */ }
    this.#hubLog = null;
    await rm(`${this.o.dir}/pxe`, { recursive: true, force: true });
  }
}
