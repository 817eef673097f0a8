import assert from "node:assert/strict";
import { HardwareFault } from "../../../shared/pins/errors.ts";
import { buildNodeMap } from "../../../shared/node_map.ts";
import { QemuPowerConfig } from "../../../hub/power/power_config.ts";
import {
  consoleTarget,
  qemuArgs,
  type QemuHost,
  QemuPowerSwitch,
  realQemuHost,
} from "../../../hub/power/qemu_power_switch.ts";
import { createPowerSwitch } from "../../../hub/power/from_config.ts";

/**
 * A fake host modelled on QEMU with -daemonize: `run` returns once the guest runs and its pid
 * file names it (or fails with QEMU's message when the tap is missing); SIGTERM ends it unless
 * it is stubborn, SIGKILL always does; the pid file stays behind (a stale file must read off).
 */
class FakeQemuHost implements QemuHost {
  readonly files = new Map<string, number>();
  readonly alive = new Set<number>();
  readonly runs: string[][] = [];
  readonly signals: [number, string][] = [];
  readonly missingTaps = new Set<string>();
  stubborn = false;
  #pid = 4000;
  run(cmd: string, args: string[]) {
    this.runs.push([cmd, ...args]);
    const tap = args[args.indexOf("-netdev") + 1].match(/ifname=([^,]+)/)![1];
    if (this.missingTaps.has(tap)) {
      return Promise.resolve({
        code: 1,
        stderr:
          `qemu-system-x86_64: -netdev tap,id=net0,ifname=${tap}: could not configure /dev/net/tun (${tap}): Operation not permitted`,
      });
    }
    const pid = ++this.#pid;
    this.alive.add(pid);
    this.files.set(args[args.indexOf("-pidfile") + 1], pid);
    return Promise.resolve({ code: 0, stderr: "" });
  }
  alivePid(pidFile: string) {
    const pid = this.files.get(pidFile);
    return Promise.resolve(pid !== undefined && this.alive.has(pid) ? pid : null);
  }
  kill(pid: number, signal: Deno.Signal) {
    this.signals.push([pid, signal]);
    if (signal === "SIGKILL" || !this.stubborn) this.alive.delete(pid);
  }
  sleep() {
    return Promise.resolve();
  }
}

async function withDriver(
  fn: (sw: QemuPowerSwitch, host: FakeQemuHost, dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "cm-qemu-" });
  try {
    const config = QemuPowerConfig.parse({
      driver: "qemu",
      stateDir: dir,
      guests: [
        { node: 1, mac: "52:54:00:00:00:01", tap: "cmtap1", console: { tcp: 5501 } },
        { node: 2, mac: "52:54:00:00:00:02", tap: "cmtap2", console: { unix: `${dir}/c2.sock` } },
      ],
    });
    const host = new FakeQemuHost();
    await fn(new QemuPowerSwitch(config, host), host, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("qemu driver: on starts the guest once (PXE, its MAC, its tap, serial on TCP), off stops it", async () => {
  await withDriver(async (sw, host, dir) => {
    assert.equal(await sw.read(1), "off");
    await sw.set(1, "on");
    assert.equal(await sw.read(1), "on");
    await sw.set(1, "on"); // already running: no second QEMU
    assert.equal(host.runs.length, 1);
    const args = host.runs[0];
    assert.equal(args[0], "qemu-system-x86_64");
    const opt = (name: string) => args[args.indexOf(name) + 1];
    assert.equal(opt("-boot"), "n"); // real PXE, not -kernel
    assert.ok(!args.includes("-kernel"));
    assert.equal(opt("-netdev"), "tap,id=net0,ifname=cmtap1,script=no,downscript=no");
    assert.equal(opt("-device"), "virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01");
    assert.equal(
      opt("-chardev"),
      `socket,id=console,host=127.0.0.1,port=5501,server=on,wait=off,logfile=${dir}/node01.console.log`,
    );
    assert.equal(opt("-serial"), "chardev:console");
    assert.equal(opt("-pidfile"), `${dir}/node01.pid`);
    assert.equal(await sw.read(2), "off"); // one guest on, the other still off
    await sw.set(1, "off");
    assert.equal(await sw.read(1), "off");
    assert.deepEqual(host.signals.map((s) => s[1]), ["SIGTERM"]);
    await sw.set(1, "off"); // already off: nothing to do
    assert.equal(host.signals.length, 1);
  });
});

Deno.test("qemu driver: a guest that ignores SIGTERM is killed; a stale pid file reads off", async () => {
  await withDriver(async (sw, host, dir) => {
    await sw.set(2, "on");
    assert.match(
      qemuArgs(
        QemuPowerConfig.parse({
          driver: "qemu",
          stateDir: dir,
          guests: [{ node: 2, mac: "52:54:00:00:00:02", tap: "t", console: { unix: "/run/c2" } }],
        }),
        { node: 2, mac: "52:54:00:00:00:02", tap: "t", console: { unix: "/run/c2" } },
      )
        .join(" "),
      /-chardev socket,id=console,path=\/run\/c2,server=on,wait=off,/,
    );
    host.stubborn = true;
    await sw.set(2, "off");
    assert.deepEqual(host.signals.map((s) => s[1]), ["SIGTERM", "SIGKILL"]);
    assert.equal(await sw.read(2), "off");
    // the process died on its own (guest halted): the leftover pid file does not read on
    await sw.set(1, "on");
    host.alive.clear();
    assert.equal(await sw.read(1), "off");
  });
});

Deno.test("qemu driver: a bay without a guest reads off and refuses on; QEMU's error is named", async () => {
  await withDriver(async (sw, host) => {
    assert.equal(await sw.read(7), "off");
    await sw.set(7, "off");
    await assert.rejects(() => sw.set(7, "on"), HardwareFault);
    host.missingTaps.add("cmtap1");
    await assert.rejects(
      () => sw.set(1, "on"),
      (e: Error) =>
        e instanceof HardwareFault &&
        /node 1: could not start its QEMU guest/.test(e.message) &&
        /cmtap1/.test(e.message),
    );
    assert.equal(await sw.read(1), "off");
  });
});

Deno.test("qemu config: console address for the console feature; duplicates and bad values refused", async () => {
  const base = { driver: "qemu", stateDir: "/var/lib/cm-qemu" };
  const cfg = QemuPowerConfig.parse({
    ...base,
    guests: [{ node: 3, mac: "52:54:00:00:00:03", tap: "cmtap3", console: { tcp: 5503 } }],
  });
  assert.deepEqual(consoleTarget(cfg, 3), { kind: "tcp", host: "127.0.0.1", port: 5503 });
  assert.equal(consoleTarget(cfg, 4), null);
  assert.equal(cfg.memoryMiB, 1024);
  assert.equal(cfg.accel, "tcg");
  const twice = {
    ...base,
    guests: [
      { node: 3, mac: "52:54:00:00:00:03", tap: "cmtap3", console: { tcp: 5503 } },
      { node: 3, mac: "52:54:00:00:00:03", tap: "cmtap3", console: { tcp: 5503 } },
    ],
  };
  await assert.rejects(
    () =>
      createPowerSwitch(twice, {
        map: buildNodeMap(),
        openI2cBus: never,
        openGpioLine: never,
        simulated: never,
      }),
    /node 3 is listed twice[^]*MAC 52:54:00:00:00:03 is used twice[^]*tap cmtap3[^]*console 127\.0\.0\.1:5503/,
  );
  assert.throws(() =>
    QemuPowerConfig.parse({
      ...base,
      guests: [{ node: 1, mac: "52:54:00:00:00:0G", tap: "x", console: { tcp: 1 } }],
    })
  );
  const sw = await createPowerSwitch(cfg, {
    map: buildNodeMap(),
    openI2cBus: never,
    openGpioLine: never,
    simulated: never,
  });
  assert.equal(sw.name, "qemu");
});

function never(): never {
  throw new Error("not used");
}

Deno.test("real qemu host: alivePid names a live process started with that pid file, else null", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-qemu-host-" });
  const pidFile = `${dir}/node01.pid`;
  // a stand-in for QEMU: a process whose command line carries the pid file, like -pidfile F
  const child = new Deno.Command("sh", { args: ["-c", "sleep 30", pidFile] }).spawn();
  try {
    assert.equal(await realQemuHost.alivePid(pidFile), null); // no file yet
    await Deno.writeTextFile(pidFile, `${child.pid}\n`);
    assert.equal(await realQemuHost.alivePid(pidFile), child.pid);
    // a reused pid: the file names a live process that is not this guest
    await Deno.writeTextFile(pidFile, `${Deno.pid}\n`);
    assert.equal(await realQemuHost.alivePid(pidFile), null);
    await Deno.writeTextFile(pidFile, `${child.pid}\n`);
    realQemuHost.kill(child.pid, "SIGTERM");
    await child.status;
    assert.equal(await realQemuHost.alivePid(pidFile), null); // stale file
    realQemuHost.kill(child.pid, "SIGTERM"); // gone: ignored
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("qemu driver: a raspi guest boots what the Pi firmware would take from the TFTP files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-qemu-pi-" });
  try {
    const tftp = `${dir}/pxe/boot`;
    await Deno.mkdir(`${tftp}/10.42.0.3`, { recursive: true });
    for (const f of ["vmlinuz", "initrd.img", "bcm2837-rpi-3-b-plus.dtb"]) {
      await Deno.writeTextFile(`${tftp}/${f}`, f);
    }
    await Deno.writeTextFile(
      `${tftp}/config.txt`,
      "arm_64bit=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n",
    );
    await Deno.writeTextFile(`${tftp}/cmdline.txt`, "console=serial0,115200 root=/dev/nfs\n");
    await Deno.writeTextFile(
      `${tftp}/10.42.0.3/cmdline.txt`,
      "console=serial0,115200 root=/dev/nfs cm.node=3\n",
    );
    const config = QemuPowerConfig.parse({
      driver: "qemu",
      stateDir: `${dir}/qemu`,
      guests: [{
        node: 3,
        mac: "52:54:00:00:00:03",
        tap: "cmtap3",
        console: { tcp: 5503 },
        qmp: `${dir}/qemu/node03.qmp`,
        raspi: { machine: "raspi3b", bootDirs: [`${tftp}/10.42.0.3`, tftp] },
      }],
    });
    const host = new FakeQemuHost();
    const sw = new QemuPowerSwitch(config, host);
    // the firmware's default device tree name is bcm2710-…: not in Debian's kernel
    await assert.rejects(
      () => sw.set(3, "on"),
      (e) =>
        e instanceof HardwareFault && /no bcm2710-rpi-3-b-plus\.dtb/.test(e.message) &&
        e.message.includes(`${tftp}/10.42.0.3, ${tftp}`),
    );
    assert.equal(host.runs.length, 0);
    await Deno.writeTextFile(
      `${tftp}/config.txt`,
      "arm_64bit=1\nupstream_kernel=1\nkernel=vmlinuz\ninitramfs initrd.img followkernel\n",
    );
    await sw.set(3, "on");
    const [cmd, ...args] = host.runs[0];
    assert.equal(cmd, "qemu-system-aarch64");
    const arg = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(arg("-M"), "raspi3b");
    assert.equal(arg("-kernel"), `${tftp}/vmlinuz`);
    assert.equal(arg("-dtb"), `${tftp}/bcm2837-rpi-3-b-plus.dtb`);
    assert.equal(arg("-initrd"), `${tftp}/initrd.img`);
    assert.equal(arg("-append"), "console=ttyAMA0,115200 root=/dev/nfs cm.node=3");
    assert.equal(arg("-device"), "usb-net,netdev=net0,mac=52:54:00:00:00:03");
    assert.equal(arg("-qmp"), `unix:${dir}/qemu/node03.qmp,server=on,wait=off`);
    assert.ok(
      !args.includes("-smp") && !args.includes("-m"),
      "a raspi3b has fixed memory and CPUs",
    );
    assert.equal(await sw.read(3), "on");
    await sw.set(3, "off");
    assert.equal(await sw.read(3), "off");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
