import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { FakeProcessRunner } from "../support/fakes/fake_process_runner.ts";
import {
  BOOT_DIR_RELINK_MS,
  CHECK_CACHE_MS,
  NetbootSupervisor,
  type NetbootSupervisorDeps,
} from "../../hub/netboot/runtime/supervisor.ts";
import { decideMode } from "../../hub/netboot/runtime/mode.ts";
import type { NetbootSettings } from "../../hub/netboot/settings/settings.ts";
import { defaultMap, eventRecorder, MemoryMacTable, tempSettings } from "./fixtures.ts";
import { FakeIptables } from "./fake_iptables.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

async function withTemp(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "cm-netboot-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function build(settings: NetbootSettings, extra: Partial<NetbootSupervisorDeps> = {}) {
  const runner = new FakeProcessRunner();
  runner.spawnable.add("dnsmasq");
  for (const cmd of ["exportfs", "sysctl"]) {
    runner.commands.set(cmd, { code: 0, stdout: "", stderr: "" });
  }
  const iptables = new FakeIptables();
  iptables.install(runner);
  const clock = new FakeClock();
  const macs = new MemoryMacTable();
  const rec = eventRecorder();
  const sup = new NetbootSupervisor({
    map: defaultMap,
    settings,
    macs,
    emit: rec.emit,
    runner,
    clock,
    probe: { isRoot: () => true, isRaspberryPi: () => true },
    readText: () => Promise.resolve(null),
    ...extra,
  });
  return { sup, runner, clock, macs, iptables, ...rec };
}

Deno.test("mode: live only as root on a Pi unless forced", () => {
  const p = (root: boolean, pi: boolean) => ({ isRoot: () => root, isRaspberryPi: () => pi });
  assert.equal(decideMode("auto", p(true, true)).mode, "live");
  assert.deepEqual(decideMode("auto", p(false, true)), {
    mode: "dry",
    reason: "not running as root",
  });
  assert.deepEqual(decideMode("auto", p(true, false)), {
    mode: "dry",
    reason: "not running on a Raspberry Pi",
  });
  assert.equal(decideMode("dry", p(true, true)).mode, "dry");
  assert.equal(decideMode("live", p(false, false)).mode, "live");
});

Deno.test("dry mode renders every file into dryDir, touches no live path, runs nothing", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const { sup, runner } = build(s, {
      probe: { isRoot: () => false, isRaspberryPi: () => false },
    });
    assert.equal(sup.mode.mode, "dry");
    await sup.start();
    const r = (await sup.status()).lastApply!;
    assert.equal(r.dir, `${root}/dry`);
    const conf = await Deno.readTextFile(`${root}/dry/dnsmasq/dnsmasq.conf`);
    assert.match(conf, /pxe-service=tag:!ipxe,0,"Raspberry Pi Boot"/);
    assert.match(await Deno.readTextFile(`${root}/dry/boot/boot.ipxe`), /^#!ipxe\n/);
    assert.ok(await Deno.stat(`${root}/dry/wifi/wpa_supplicant.conf`));
    assert.equal(await Deno.stat(`${root}/etc`).catch(() => null), null);
    assert.equal(runner.children.length, 0);
    assert.equal(runner.ran.length, 0);
    assert.equal(r.written.length, sup.render().length);
    const again = await sup.apply();
    assert.equal(again.written.length, 0);
    assert.equal(again.unchanged.length, sup.render().length);
    const st = await sup.status();
    assert.equal(st.nfs.state, "skipped");
    assert.equal(st.dnsmasq.state, "stopped");
    await sup.stop();
  });
});

Deno.test("live apply installs files and reloads: SIGHUP for hosts, restart only for dnsmasq.conf", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const { sup, runner, macs, clock } = build(s);
    assert.equal(sup.mode.mode, "live");
    await sup.start();
    await tick();
    assert.deepEqual(runner.ran, [
      ["exportfs", "-ra"],
      ["iptables-restore", "--noflush", s.paths.rulesV4File],
      ["iptables", "-t", "filter", "-C", "FORWARD", "-j", "CM-FORWARD"],
      ["iptables", "-t", "filter", "-I", "FORWARD", "1", "-j", "CM-FORWARD"],
      ["iptables", "-t", "nat", "-C", "POSTROUTING", "-j", "CM-POSTROUTING"],
      ["iptables", "-t", "nat", "-I", "POSTROUTING", "1", "-j", "CM-POSTROUTING"],
      ["sysctl", "-p", s.paths.sysctlFile],
    ]);
    assert.equal(runner.children.length, 1);
    assert.deepEqual(runner.last!.args, [
      "--keep-in-foreground",
      `--conf-file=${s.paths.configDir}/dnsmasq.conf`,
      "--log-facility=-",
    ]);
    const hook = await Deno.stat(`${s.paths.configDir}/dhcp-event.sh`);
    assert.equal(hook.mode! & 0o777, 0o755);

    // a learned MAC: only dhcp-hosts changes -> SIGHUP, no restart, no exportfs
    runner.ran.length = 0;
    macs.set(7, "b8:27:eb:00:00:07");
    const r = await sup.apply();
    assert.deepEqual(r.written, [`${s.paths.configDir}/dhcp-hosts`]);
    assert.deepEqual(r.reloads.map((x) => x.action), ["dnsmasq-hup"]);
    assert.deepEqual(runner.last!.signals, ["SIGHUP"]);
    assert.equal(runner.children.length, 1);
    assert.equal(runner.ran.length, 0);
    assert.match(
      await Deno.readTextFile(`${s.paths.configDir}/dhcp-hosts`),
      /^b8:27:eb:00:00:07,10\.42\.0\.7,node07$/m,
    );

    // a changed dnsmasq.conf setting: restart
    s.learningLeaseTime = "2m";
    const r2 = await sup.apply();
    assert.deepEqual(r2.reloads.map((x) => x.action), ["dnsmasq-restart"]);
    await tick();
    assert.equal(runner.children.length, 2);
    assert.deepEqual(runner.children[0].signals, ["SIGHUP", "SIGTERM"]);
    assert.equal(sup.dnsmasqStatus().state, "running");

    // dnsmasq gives up after repeated crashes; an explicit apply starts it again
    for (let i = 0; i < 20 && sup.dnsmasqStatus().state !== "failed"; i++) {
      runner.last!.exit(1, "dnsmasq: failed to create listening socket: Address in use");
      await tick();
      const due = sup.dnsmasqStatus().nextRestartAt;
      if (due !== null) await clock.advance(due - clock.now()); // crash again right away
    }
    assert.equal(sup.dnsmasqStatus().state, "failed");
    const spawned = runner.children.length;
    const r3 = await sup.apply();
    assert.deepEqual(r3.written, []);
    assert.deepEqual(r3.reloads.map((x) => x.action), ["dnsmasq-restart"]);
    await tick();
    assert.equal(runner.children.length, spawned + 1);
    assert.equal(sup.dnsmasqStatus().state, "running");
    await sup.stop();
    assert.equal(sup.dnsmasqStatus().state, "stopped");
  });
});

Deno.test("a failing reload command is reported, not hidden", async () => {
  await withTemp(async (root) => {
    const { sup, runner } = build(tempSettings(root));
    runner.commands.set("exportfs", {
      code: 1,
      stdout: "",
      stderr: "exportfs: /x does not support NFS export",
    });
    const r = await sup.apply();
    const ex = r.reloads.find((x) => x.action === "exportfs")!;
    assert.equal(ex.ok, false);
    assert.match(ex.detail, /does not support NFS export/);
  });
});

Deno.test("learning end to end: hook line -> learned -> dhcp-hosts re-rendered -> SIGHUP", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    let target: { node: number; since: number } | null = null;
    const { sup, runner, macs, events, clock } = build(s, {
      learningTarget: () => target,
      pollMs: 100,
    });
    await sup.start();
    await clock.advance(100); // first poll: file does not exist yet
    target = { node: 12, since: clock.now() };
    await Deno.writeTextFile(
      s.paths.eventsFile,
      `${Math.floor(clock.now() / 1000)} add b8:27:eb:00:00:0c 10.42.0.100 raspberrypi\n`,
      { append: true },
    );
    const decisions = await sup.leaseWatcher.poll(); // what the 500 ms loop does, on demand
    assert.deepEqual(decisions.map((d) => d.kind), ["learn"]);
    assert.deepEqual(macs.all(), new Map([[12, "b8:27:eb:00:00:0c"]]));
    assert.deepEqual(events.filter((e) => e.type === "mac_learned").map((e) => e.node), [12]);
    assert.match(
      await Deno.readTextFile(`${s.paths.configDir}/dhcp-hosts`),
      /^b8:27:eb:00:00:0c,10\.42\.0\.12,node12$/m,
    );
    assert.deepEqual(runner.last!.signals, ["SIGHUP"]);
    await sup.stop();
  });
});

Deno.test("checks report NFS and NAT state from exportfs, iptables and /proc", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const files: Record<string, string> = {
      "/proc/fs/nfsd/threads": "8\n",
      "/proc/sys/net/ipv4/ip_forward": "1\n",
    };
    const { sup, runner, clock } = build(s, {
      readText: (p) => Promise.resolve(files[p] ?? null),
    });
    runner.commands.set("exportfs", {
      code: 0,
      stdout: `${s.paths.nfsRoot}\t10.42.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,ro)\n`,
      stderr: "",
    });
    let st = await sup.status();
    assert.equal(st.nat.state, "degraded"); // no rules loaded yet
    assert.deepEqual(st.nat.checks, {
      ipForward: true,
      iptables: true,
      masquerade: false,
      jumps: false,
    });
    await sup.apply(); // loads our chains (and invalidates the cached checks)
    st = await sup.status();
    assert.equal(st.nfs.state, "ok");
    assert.equal(st.nat.state, "ok");
    files["/proc/sys/net/ipv4/ip_forward"] = "0\n";
    runner.commands.delete("exportfs");
    st = await sup.status();
    assert.equal(st.nat.state, "ok"); // results are reused for a few seconds ...
    await clock.advance(CHECK_CACHE_MS);
    st = await sup.status(); // ... then checked again
    assert.equal(st.nat.state, "degraded");
    assert.match(st.nat.detail, /ip_forward is off/);
    assert.equal(st.nfs.state, "degraded");
    assert.match(st.nfs.detail, /exportfs not found/);
    assert.deepEqual(st.nfs.checks, { exportfs: false, server: true, rootExported: false });
  });
});

Deno.test("resetNode empties one node's overlay, refuses while powered unless forced", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root, { overlays: true });
    let powered = true;
    const { sup } = build(s, { isPoweredOn: () => powered });
    await sup.apply();
    const mine = `${s.paths.overlayDir}/node05`;
    const other = `${s.paths.overlayDir}/node06`;
    await Deno.mkdir(`${mine}/var/lib`, { recursive: true });
    await Deno.writeTextFile(`${mine}/var/lib/state`, "x");
    await Deno.writeTextFile(`${mine}/.hidden`, "x");
    await Deno.writeTextFile(`${other}/keep`, "x");
    await assert.rejects(sup.resetNode(5), /powered on/);
    assert.ok(await Deno.stat(`${mine}/.hidden`));
    const r = await sup.resetNode(5, true);
    assert.deepEqual(r, { node: 5, path: mine, removed: 2 });
    assert.deepEqual([...Deno.readDirSync(mine)], []);
    assert.ok(await Deno.stat(`${other}/keep`));
    powered = false;
    await assert.rejects(sup.resetNode(17), /Pi Zero W/);
  });
});

Deno.test("with overlays, each node's own agent key goes into its overlay (0600), and back after a reset", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root, { overlays: true });
    const keyFor = (n: number) => `node${String(n).padStart(2, "0")}.${"k".repeat(43)}`;
    const { sup } = build(s, { isPoweredOn: () => false, agentKeyFor: keyFor });
    await sup.apply();
    for (const n of [1, 7, 60]) {
      const path = `${s.paths.overlayDir}/node${String(n).padStart(2, "0")}/agent-key`;
      assert.equal(await Deno.readTextFile(path), keyFor(n) + "\n");
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    }
    // Pi Zero W bays have no overlay, so no key there.
    await assert.rejects(Deno.stat(`${s.paths.overlayDir}/node17`), Deno.errors.NotFound);
    await Deno.writeTextFile(`${s.paths.overlayDir}/node07/agent-key`, "tampered\n");
    const r = await sup.resetNode(7);
    assert.equal(r.removed, 1);
    assert.equal(
      await Deno.readTextFile(`${s.paths.overlayDir}/node07/agent-key`),
      keyFor(7) + "\n",
    );
    // The shared root export never holds it: the key lives only under the overlay directory.
    assert.ok(!s.paths.overlayDir.startsWith(s.paths.nfsRoot + "/"));
  });
});

Deno.test("with overlays, apply creates per-node boot dirs linking the shared boot files", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root, { overlays: true });
    await Deno.mkdir(s.paths.tftpRoot, { recursive: true });
    await Deno.writeTextFile(`${s.paths.tftpRoot}/start.elf`, "firmware");
    const { sup } = build(s);
    await sup.apply();
    const dir = `${s.paths.tftpRoot}/10.42.0.7`;
    assert.match(await Deno.readTextFile(`${dir}/cmdline.txt`), /cm\.node=7/);
    assert.equal(await Deno.readLink(`${dir}/start.elf`), "../start.elf");
    assert.equal(await Deno.readTextFile(`${dir}/start.elf`), "firmware");
    assert.ok((await Deno.stat(`${s.paths.overlayDir}/node07`)).isDirectory);
    assert.equal(await Deno.stat(`${s.paths.overlayDir}/node17`).catch(() => null), null);
  });
});

Deno.test("with overlays, boot files put in the TFTP root after start are linked for every node", async () => {
  // found by the Pi ROM replay: the image (bootcode.bin, start.elf, the kernel) is installed
  // into /pxe/boot while the hub runs; dnsmasq serves a node only from its own dir
  // (tftp-unique-root), so a file linked only at the last apply is "not found" for the Pi
  await withTemp(async (root) => {
    const s = tempSettings(root, { overlays: true });
    await Deno.mkdir(s.paths.tftpRoot, { recursive: true });
    const { sup, clock } = build(s);
    await sup.start();
    const dir = `${s.paths.tftpRoot}/10.42.0.7`;
    await Deno.writeTextFile(`${s.paths.tftpRoot}/bootcode.bin`, "rom's first file");
    await clock.advance(BOOT_DIR_RELINK_MS);
    const end = performance.now() + 10_000; // the link is made by real file I/O
    while (!(await Deno.lstat(`${dir}/bootcode.bin`).catch(() => null))) {
      if (performance.now() > end) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await Deno.readTextFile(`${dir}/bootcode.bin`), "rom's first file");
    assert.equal(await Deno.readLink(`${dir}/bootcode.bin`), "../bootcode.bin");
    await sup.stop();
    // stopped: nothing is linked any more
    await Deno.writeTextFile(`${s.paths.tftpRoot}/start.elf`, "firmware");
    await clock.advance(BOOT_DIR_RELINK_MS * 2);
    assert.equal(await Deno.lstat(`${dir}/start.elf`).catch(() => null), null);
  });
});

Deno.test("a failed reload stays owed: the next apply retries it although no file changed", async () => {
  await withTemp(async (root) => {
    const { sup, runner } = build(tempSettings(root));
    runner.commands.set("exportfs", { code: 1, stdout: "", stderr: "exportfs: busy" });
    const r1 = await sup.apply();
    assert.equal(r1.reloads.find((x) => x.action === "exportfs")?.ok, false);
    runner.commands.set("exportfs", { code: 0, stdout: "", stderr: "" });
    runner.ran.length = 0;
    const r2 = await sup.apply();
    assert.deepEqual(r2.written, []);
    assert.deepEqual(r2.reloads.map((x) => [x.action, x.ok]), [["exportfs", true]]);
    assert.deepEqual(runner.ran, [["exportfs", "-ra"]]);
    runner.ran.length = 0;
    const r3 = await sup.apply(); // paid: nothing more to do
    assert.deepEqual(r3.reloads, []);
    assert.deepEqual(runner.ran, []);
  });
});

Deno.test("a write that throws after dhcp-hosts was written: the next apply still sends SIGHUP", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const { sup, runner, macs } = build(s);
    await sup.start();
    await tick();
    // a directory where the exports file goes: renaming the new file over it fails (EISDIR)
    await Deno.remove(s.paths.exportsFile);
    await Deno.mkdir(`${s.paths.exportsFile}/x`, { recursive: true });
    macs.set(7, "b8:27:eb:00:00:07");
    await assert.rejects(sup.apply());
    assert.match(await Deno.readTextFile(`${s.paths.configDir}/dhcp-hosts`), /node07$/m);
    assert.deepEqual(runner.last!.signals, []); // the apply died before reloading
    await Deno.remove(s.paths.exportsFile, { recursive: true });
    const r = await sup.apply();
    assert.deepEqual(r.written, [s.paths.exportsFile]); // dhcp-hosts is unchanged by now
    assert.deepEqual(r.reloads.map((x) => x.action), ["dnsmasq-hup", "exportfs"]);
    assert.deepEqual(runner.last!.signals, ["SIGHUP"]);
    await sup.stop();
  });
});

Deno.test("after a crash between write and reload, the first apply of a new process reloads all", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const first = build(s);
    first.macs.set(7, "b8:27:eb:00:00:07");
    await first.sup.apply(); // wrote and reloaded ...
    // ... then a new hub process: files are current, but were the reloads done? Do them.
    const second = build(s);
    second.macs.set(7, "b8:27:eb:00:00:07");
    const r = await second.sup.apply();
    assert.deepEqual(r.written, []);
    assert.deepEqual(second.runner.ran.map((c) => c[0]), [
      "exportfs",
      "iptables-restore",
      "iptables",
      "iptables",
      "iptables",
      "iptables",
      "sysctl",
    ]);
    await second.sup.start(); // dnsmasq starts on the current files: no HUP, no restart owed
    await tick();
    const again = await second.sup.apply();
    assert.deepEqual(again.reloads, []);
    assert.deepEqual(second.runner.last!.signals, []);
    await second.sup.stop();
  });
});

Deno.test("learning from a renewal: a Pi rebooted within its learning lease sends only 'old'", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    let target: { node: number; since: number } | null = null;
    const { sup, macs, clock } = build(s, { learningTarget: () => target, pollMs: 100 });
    await Deno.mkdir(`${root}/var`, { recursive: true });
    await Deno.writeTextFile(s.paths.eventsFile, "");
    await sup.start();
    await clock.advance(100);
    target = { node: 12, since: clock.now() };
    await Deno.writeTextFile(
      s.paths.eventsFile,
      `${Math.floor(clock.now() / 1000)} old b8:27:eb:00:00:0c 10.42.0.100 raspberrypi\n`,
      { append: true },
    );
    assert.deepEqual((await sup.leaseWatcher.poll()).map((d) => d.kind), ["learn"]);
    assert.deepEqual(macs.all(), new Map([[12, "b8:27:eb:00:00:0c"]]));
    await sup.stop();
  });
});

Deno.test("NAT rules load into our own chains: others' rules survive, jumps are added once", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const first = build(s);
    // the admin's / ufw's / Docker's rules, already loaded
    const ipt = first.iptables;
    ipt.iptables(["-t", "filter", "-A", "FORWARD", "-j", "ACCEPT"]);
    ipt.tables.get("filter")!.set("DOCKER-USER", ["-j RETURN"]);
    ipt.iptables(["-t", "filter", "-I", "FORWARD", "1", "-j", "DOCKER-USER"]);
    ipt.iptables(["-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "-j", "MASQUERADE"]);
    const theirs = [...ipt.save("filter"), ...ipt.save("nat")];
    const r = await first.sup.apply();
    assert.deepEqual(r.reloads.find((x) => x.action === "iptables")?.ok, true);
    // a second hub process, and a changed uplink: the file is loaded again
    const second = build({ ...s, uplinkInterface: "wlan1" });
    ipt.install(second.runner); // the same kernel tables
    await second.sup.apply();
    const now = [...ipt.save("filter"), ...ipt.save("nat")];
    for (const rule of theirs) assert.ok(now.includes(rule), `lost: ${rule}`);
    assert.deepEqual(ipt.save("filter", "FORWARD"), [
      "-P FORWARD ACCEPT",
      "-A FORWARD -j CM-FORWARD",
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -j ACCEPT",
    ]);
    assert.deepEqual(ipt.save("nat", "POSTROUTING"), [
      "-P POSTROUTING ACCEPT",
      "-A POSTROUTING -j CM-POSTROUTING",
      "-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE",
    ]);
    assert.deepEqual(ipt.save("nat", "CM-POSTROUTING"), [
      "-N CM-POSTROUTING",
      "-A CM-POSTROUTING -s 10.42.0.0/24 -o wlan1 -j MASQUERADE", // replaced, not appended
    ]);
    assert.ok(ipt.save("filter", "CM-FORWARD").includes("-A CM-FORWARD -i eth0 -o eth0 -j ACCEPT"));
    // and the model is faithful where it matters: without --noflush, theirs would be gone
    ipt.restore([s.paths.rulesV4File]);
    assert.deepEqual(ipt.save("filter", "FORWARD"), ["-P FORWARD ACCEPT"]);
  });
});

Deno.test("apply dry run: a unified diff of every file against disk and the reloads; nothing changes", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root, { mode: "live" });
    const { sup, runner, macs } = build(s);
    await sup.start();
    const ranBefore = runner.ran.length;
    const calm = await sup.plan();
    assert.ok(calm.files.every((f) => f.change === "unchanged" && f.diff === ""));
    assert.deepEqual(calm.reloads, [], "the start ran every reload: none owed");
    // Drift: a hand edit in hosts, a learned MAC not yet applied, a deleted exports file.
    const hosts = `${s.paths.configDir}/hosts`;
    const edited = (await Deno.readTextFile(hosts)).replace(
      "10.42.0.7\tnode07.cluster\tnode07",
      "10.42.0.7\tnode07.cluster\tnode07 build-box",
    );
    await Deno.writeTextFile(hosts, edited);
    macs.set(9, "b8:27:eb:00:00:09");
    await Deno.remove(s.paths.exportsFile);
    const plan = await sup.plan();
    const by = new Map(plan.files.map((f) => [f.name, f]));
    assert.equal(by.get("dnsmasq/hosts")?.change, "changed");
    assert.match(
      by.get("dnsmasq/hosts")!.diff,
      /^-10\.42\.0\.7\tnode07\.cluster\tnode07 build-box$/m,
    );
    assert.match(by.get("dnsmasq/hosts")!.diff, /^\+10\.42\.0\.7\tnode07\.cluster\tnode07$/m);
    assert.match(by.get("dnsmasq/dhcp-hosts")!.diff, /^\+b8:27:eb:00:00:09,10\.42\.0\.9,node09$/m);
    assert.equal(by.get("nfs/cluster-module.exports")?.change, "new");
    assert.match(by.get("nfs/cluster-module.exports")!.diff, /^--- \/dev\/null$/m);
    assert.equal(by.get("dnsmasq/dnsmasq.conf")?.change, "unchanged");
    assert.deepEqual(plan.reloads.map((r) => r.action), ["dnsmasq-hup", "exportfs"]);
    // Nothing was written and nothing ran.
    assert.equal(await Deno.readTextFile(hosts), edited);
    assert.equal(await Deno.stat(s.paths.exportsFile).catch(() => null), null);
    assert.equal(runner.ran.length, ranBefore);
    assert.deepEqual(runner.last?.signals, []);
    // The real apply does exactly what the plan said.
    const applied = await sup.apply();
    assert.deepEqual(applied.reloads.map((r) => r.action), ["dnsmasq-hup", "exportfs"]);
    assert.deepEqual((await sup.plan()).reloads, []);
    await sup.stop();
  });
});

Deno.test("nfsServer ganesha: rpcbind, then ganesha once rpcbind answers; no exportfs", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root, { nfsServer: "ganesha" });
    const { sup, runner, clock } = build(s);
    runner.spawnable.add("rpcbind");
    runner.spawnable.add("ganesha.nfsd");
    let asked = 0;
    runner.commands.set("rpcinfo", () => ({ code: asked++ < 2 ? 1 : 0, stdout: "", stderr: "" }));
    let done = false;
    const started = sup.start().then(() => done = true);
    // real time bounds the loop, not a count of ticks: under load the apply's file writes
    // take more ticks, and a loop that stopped early left start() waiting on the fake clock
    const end = performance.now() + 20_000;
    while (!done && performance.now() < end) {
      await tick();
      if (clock.pending) await clock.advance(100);
      // ganesha is not started before rpcbind answers (the first two rpcinfo calls fail)
      if (asked <= 2) assert.ok(!runner.children.some((c) => c.cmd === "ganesha.nfsd"));
    }
    await started;
    assert.equal(asked, 3);
    assert.deepEqual(runner.children.map((c) => c.cmd), ["dnsmasq", "rpcbind", "ganesha.nfsd"]);
    assert.deepEqual(runner.children[1].args, ["-f", "-w"]);
    assert.deepEqual(runner.children[2].args, [
      "-F",
      "-f",
      s.paths.ganeshaConfig,
      "-L",
      "STDERR",
      "-p",
      `${s.paths.ganeshaStateDir}/ganesha.pid`,
    ]);
    assert.ok(!runner.ran.some((c) => c[0] === "exportfs"), "no exportfs with ganesha");
    assert.equal(await Deno.stat(s.paths.exportsFile).catch(() => null), null);
    assert.match(await Deno.readTextFile(s.paths.ganeshaConfig), /Bind_addr = 10\.42\.0\.250;/);
    assert.deepEqual(sup.nfsServices().map((p) => p.state), ["running", "running"]);
    const rows = (await sup.services()).services;
    assert.deepEqual(rows.map((r) => r.name), ["dnsmasq", "rpcbind", "ganesha", "nfs", "nat"]);
    await sup.stop();
    assert.deepEqual(sup.nfsServices().map((p) => p.state), ["stopped", "stopped"]);
  });
});

Deno.test("nfsServer kernel (default): exports file and exportfs, no rpcbind or ganesha", async () => {
  await withTemp(async (root) => {
    const s = tempSettings(root);
    const { sup, runner } = build(s);
    await sup.start();
    assert.deepEqual(runner.children.map((c) => c.cmd), ["dnsmasq"]);
    assert.ok(runner.ran.some((c) => c.join(" ") === "exportfs -ra"));
    assert.ok(await Deno.stat(s.paths.exportsFile));
    assert.equal(await Deno.stat(s.paths.ganeshaConfig).catch(() => null), null);
    assert.deepEqual(sup.nfsServices(), []);
    await sup.stop();
  });
});
