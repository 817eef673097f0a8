/**
 * A Raspberry Pi 3B+ node end to end, on the Pi's own kernel, device tree and GPIO driver: the
 * hub (its own dnsmasq, rpcbind and nfs-ganesha, live, in a network namespace) and an emulated
 * 3B+ (QEMU raspi3b) on the same LAN through a usb-net tap (scripts/lib/netboot_lab.ts with
 * `board: "pi3b+"`):
 *
 * - QEMU takes the kernel, device tree, initramfs and command line from the files the hub
 *   serves in pxe/boot (the `qemu` driver's stand-in for bootcode.bin and start.elf);
 * - `POST /macs/learn` learns the guest's MAC from its DHCP request to the hub's dnsmasq; the
 *   guest, cycled, boots its own cmdline.txt, leases its address from the hub's dnsmasq and
 *   mounts the arm64 root over NFS;
 * - systemd starts the agent installed by install-agent.sh (bundle mode, Deno for arm64), which
 *   reads its model from the device tree; the device tree the hub serves carries the bay LED
 *   node (built in by the image builder), so the agent hands the blinking to the kernel
 *   (leds-gpio on pinctrl-bcm2835, ledtrig-pattern); the hub shows node 1 `running` with model
 *   pi3b+, usb0's MAC and LED engine `kernel`;
 * - GPLEV0, read from outside over QMP, shows 900/100 ms on a one-second grid (p99 stated), and
 *   the identify pattern within 2 s of `POST /nodes/1/led {"mode":"identify"}`;
 * - `POST /nodes/1/power {"state":"off"}` ends the guest's QEMU process; the hub stays up.
 *
 * It logs the boot's timeline (phase by phase: time since power-on and the bytes over the LAN)
 * and what the node read to start its agent (docs/pi-lab.md, "Figures"). Under TCG the node's
 * boot is bound by its emulated full-speed USB network.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import { labMac, NetbootLab } from "../../scripts/lib/netboot_lab.ts";
import { Qmp } from "../../scripts/pi-lab/qmp.ts";
import {
  type BlinkReport,
  blinkReport,
  edgesOf,
  fastBlinkSeen,
  sampleBit,
} from "../../scripts/pi-lab/gplev.ts";
import type { NodeStatus } from "../../shared/schemas.ts";
import { secs, skipUnlessLab, sleep } from "./_lab.ts";
import { BootTimeline, type Marker } from "./_boot_timeline.ts";

const PROJ = new URL("../../", import.meta.url).pathname;
const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("Pi 3B+ node end to end", board, [
  "mmdebstrap",
  "dnsmasq",
  "rpcbind",
  "ganesha.nfsd",
  "curl",
  "arch-test",
]);
/** The largest gap between GPLEV0 samples that still times an edge. */
const RESOLUTION_MS = 25;
/** Gaps shorter than the patterns' shortest phase (100 ms) cannot hide one. */
const HIDE_MS = 90;

/**
 * Modules the node never uses, loaded by udev on the emulated 3B+ before the image blacklisted
 * their drivers (with their dependencies: bluetooth, rfkill, drm, snd).
 */
const NOT_LOADED = ["hci_uart", "btbcm", "bluetooth", "rfkill", "vc4", "drm", "snd", "vchiq"];
/** Modules the node needs: its NIC in the lab (usb-net), the NFS client, the bay LED's. */
const LOADED = ["cdc_ether", "usbnet", "nfs", "leds_gpio", "ledtrig_pattern"];

/** The boot's phases, by the first console line of each (docs/pi-lab.md, "Figures"). */
const PHASES: Marker[] = [
  { name: "initramfs: DHCP", re: /cm-initramfs: DHCP on / },
  { name: "initramfs: lease", re: /cm-initramfs: \S+ is \d/ },
  { name: "initramfs: root, init", re: /cm-initramfs: starting / },
  { name: "systemd: first line", re: /systemd\[1\]: |Welcome to / },
  { name: "cm-overlay: done", re: /cm-overlay: .*(mounted at|could not)/ },
  { name: "agent: started", re: /Starting .*cluster-agent/ },
  { name: "agent: first line", re: /cluster-agent\[\d+\]: (info|warn|error): / },
];

/**
 * Whether process `pid` runs: it exists and is no zombie (QEMU daemonizes, so a stopped guest's
 * process may wait a while for init to reap it).
 */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

Deno.test({
  name: "pi 3B+ node: netboots from the hub, Deno agent on pinctrl-bcm2835, GPLEV0 from outside",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const log = (l: string) => console.log(`[pi node +${secs(t0)}s] ${l}`);
    const suffix = `${Deno.pid % 100000}`;
    const dir = `${PROJ}.cache/pi-lab/node-${suffix}`;
    const mac = labMac(1);
    let lab: NetbootLab | null = null;
    let qmp: Qmp | null = null;
    let timeline: BootTimeline | null = null;
    let ok = false;
    try {
      lab = await NetbootLab.start({
        dir,
        ns: `cmpi${suffix}`,
        nodes: [1],
        board: "pi3b+",
        instrument: true,
        overlays: true,
        log,
      });
      const node = async () => (await lab!.api("GET", "/nodes/1")).body as NodeStatus;

      // 1. learn the MAC from the guest's first DHCP request, then cycle it into its own boot
      // (REST, with a longer wait than cm's 90 s: under TCG on a loaded machine the guest's
      // first DHCP request came after more than that)
      const learn = await lab.api("POST", "/macs/learn", { nodes: "1", timeoutMs: 600_000 });
      assert.equal(learn.status, 202, JSON.stringify(learn.body));
      // polls tolerate a failed request: at load average 40-80 the hub's connection gate reset
      // some (curl 56) while QEMU starved it
      type Macs = { macs: { node: number; mac: string }[] };
      for (let i = 0; i < 620; i++) {
        const macs = (await lab.api("GET", "/macs").catch(() => null))?.body as Macs | undefined;
        if (macs?.macs.some((m) => m.node === 1 && m.mac === mac)) break;
        await sleep(1000);
      }
      const learned = (await lab.api("GET", "/macs")).body as Macs;
      assert.deepEqual(learned.macs.map((m) => [m.node, m.mac]), [[1, mac]]);
      log(`MAC ${mac} learned`);
      const bytesAtCycle = await lab.tapBytes(1);
      const before = (await Deno.stat(lab.consoleLog(1)).catch(() => null))?.size ?? 0;
      const cycled = performance.now();
      const cycle = await lab.api("POST", "/nodes/1/power", { state: "cycle" });
      assert.ok(cycle.status === 200 || cycle.status === 202, JSON.stringify(cycle));
      // the timeline starts once QEMU has begun the console log afresh (the learning boot's)
      for (let i = 0; i < 120; i++) {
        if (((await Deno.stat(lab.consoleLog(1)).catch(() => null))?.size ?? 0) < before) break;
        await sleep(250);
      }
      const tap = () => lab!.tapBytes(1);
      timeline = new BootTimeline(lab.consoleLog(1), PHASES, tap, cycled, bytesAtCycle);

      // 2. running, with the agent's identity from the device tree
      let status = await node();
      // under TCG on a shared 2-core machine systemd alone took 400 s to start journald (load 60-80)
      const deadline = performance.now() + 1_200_000;
      while (performance.now() < deadline) {
        const now = await node().catch(() => null);
        if (!now) {
          await sleep(1000);
          continue;
        }
        status = now;
        if (status.lifecycle === "running" && status.agent) break;
        if (status.power.actual === "off") break;
        await sleep(1000);
      }
      const consoleText = await Deno.readTextFile(lab.consoleLog(1)).catch(() => "");
      assert.equal(
        status.lifecycle,
        "running",
        `node 1 never ran; console tail:\n${consoleText.slice(-3000)}`,
      );
      await timeline.mark("hub: running", tap, cycled, bytesAtCycle);
      const bytesAtRunning = await lab.tapBytes(1);
      const a = status.agent!;
      log(
        `running: model ${a.identity.model}, board ${a.identity.boardName}, mac ${a.identity.mac}, LED engine ${a.ledEngine}`,
      );
      log(
        `the LAN sent the node ${
          ((bytesAtRunning.toGuest - bytesAtCycle.toGuest) / 1e6).toFixed(1)
        } MB from power-on to running (it sent ${
          ((bytesAtRunning.fromGuest - bytesAtCycle.fromGuest) / 1e6).toFixed(1)
        } MB)`,
      );
      assert.equal(a.identity.model, "pi3b+");
      assert.equal(a.identity.boardName, "Raspberry Pi 3 Model B+", "from the device tree");
      assert.equal(a.identity.node, 1);
      // usb0 (QEMU's usb-net) carries the route to the hub: its MAC, the one the hub learned
      assert.equal(a.identity.mac, mac);
      // the served 3B+ tree has the bay LED node: the kernel blinks it, and the heartbeat says so
      assert.equal(a.ledEngine, "kernel", "LED engine (the TFTP tree's bay LED node)");
      const cmdline = consoleText.match(/cm-lab: cmdline (.*)/)?.[1] ?? "";
      assert.ok(
        cmdline.endsWith(" cm.node=1 cm.overlay=10.42.0.250:" + `${dir}/pxe/overlay/node01`),
        cmdline,
      );
      assert.match(
        consoleText.match(/cm-lab: root (.*)/)?.[1] ?? "",
        /^10\.42\.0\.250:\S+\/pxe\/root \/ nfs /,
      );

      // 3. GPLEV0 from outside: 900/100 on-grid, once the agent says it shows the heartbeat
      // (in its first seconds under TCG it missed the hub's replies and showed `fault`). Only
      // what the samples resolve counts (25 ms or less between samples: QMP answers unevenly
      // on a loaded host). Judged in 8 s windows, up to eight: the first window with four
      // resolved periods all within bounds passes (a wrong blink never does; an agent still
      // settling, or a guest starved for a moment, may take a window or two).
      for (
        let i = 0;
        i < 120 && (await node().catch(() => null))?.agent?.led !== "heartbeat";
        i++
      ) {
        await sleep(500);
      }
      qmp = await Qmp.connect(lab.qmpPath(1));
      const enough = (x: BlinkReport, n: number) =>
        x.used.lit >= n && x.used.dark >= n && x.used.starts >= n;
      const right = (x: BlinkReport) =>
        enough(x, 4) && Math.abs(x.onMs - 900) <= 60 && Math.abs(x.offMs - 100) <= 60 &&
        x.gridErrorP99 <= 80;
      const windows: BlinkReport[] = [];
      while (windows.length < 8 && !windows.some(right)) {
        const w = await sampleBit(qmp, board.gplev0, board.ledGpio, 8000);
        windows.push(blinkReport(w, 1000, board.ledActiveLow, RESOLUTION_MS, HIDE_MS));
        log(`GPLEV0 heartbeat, window ${windows.length}: ${JSON.stringify(windows.at(-1))}`);
      }
      const r = windows.find(right) ?? windows.at(-1)!;
      assert.ok(enough(r, 4), `GPLEV0 was never sampled finely enough: ${JSON.stringify(r)}`);
      assert.ok(Math.abs(r.onMs - 900) <= 60, `on ${r.onMs} ms (900)`);
      assert.ok(Math.abs(r.offMs - 100) <= 60, `off ${r.offMs} ms (100)`);
      assert.ok(r.gridErrorP99 <= 80, `rising edges off the second grid: p99 ${r.gridErrorP99} ms`);

      // 4. identify (100/100 ms) within 2 s of the POST
      const posted = performance.now();
      const led = await lab.api("POST", "/nodes/1/led", { mode: "identify" });
      assert.ok(led.status === 200 || led.status === 202, JSON.stringify(led));
      const after = await sampleBit(qmp, board.gplev0, board.ledGpio, 5000);
      // (four edges 250 ms or less apart: never the heartbeat, whose 100 ms dark phase sits
      // between two 900 ms lit ones; a 100 ms phase missed now and then by samples that come
      // slowly under load still leaves such runs)
      const seenAt = fastBlinkSeen(edgesOf(after), 4, 250) - posted;
      // its figures from what followed, sampled on until five resolved phases of each
      const identifyReport = () =>
        blinkReport(
          after.filter((x) => x.t >= posted + seenAt),
          200,
          board.ledActiveLow,
          RESOLUTION_MS,
          HIDE_MS,
        );
      let shown = identifyReport();
      const more = performance.now();
      while (!Number.isNaN(seenAt) && performance.now() - more < 20_000 && !enough(shown, 5)) {
        after.push(...await sampleBit(qmp, board.gplev0, board.ledGpio, 2000));
        shown = identifyReport();
      }
      log(
        `identify seen ${seenAt.toFixed(0)} ms after the POST; then ${JSON.stringify(shown)}`,
      );
      assert.ok(seenAt <= 2000, `identify not seen within 2 s (${seenAt} ms)`);
      assert.ok(
        Math.abs(shown.onMs - 100) <= 50 && Math.abs(shown.offMs - 100) <= 50,
        `identify is 100/100 ms, GPLEV0 showed ${shown.onMs}/${shown.offMs} ms`,
      );

      // the boot's timeline, and what the node read to start its agent (the lab's report)
      await timeline.stop();
      for (const l of timeline.report()) log(`timeline ${l}`);
      let text = "";
      for (let i = 0; i < 40 && !/cm-lab: nfs/.test(text); i++) {
        text = await Deno.readTextFile(lab.consoleLog(1)).catch(() => "");
        if (!/cm-lab: nfs/.test(text)) await sleep(500);
      }
      // (the report comes every 20 s: the first and the last)
      const reports = text.split("cm-lab: agent pid ").slice(1);
      for (const r of reports.length ? [reports[0], reports.at(-1)!] : []) {
        for (
          const l
            of `cm-lab: agent pid ${r}`.match(/cm-lab: (agent|exe|root read|modules|nfs).*/g) ?? []
        ) log(l.trim());
      }
      // the root's NFS readahead is 32 KB from the initramfs on, and stays so once udev has run
      // (nfs-common's rule sets it again from the image's nfs.conf.d)
      assert.match(text, /cm-initramfs: root readahead 32 KB/);
      assert.equal(reports.at(-1)?.match(/root read_ahead_kb (\d+)/)?.[1], "32", "readahead later");
      // the image's modprobe blacklist (scripts/image/cluster-node-modprobe.conf): udev loaded
      // none of the radio, display and sound drivers (before it, all of these were loaded), and
      // the NIC, the NFS client and the bay LED's drivers came all the same
      const loaded = reports.at(-1)?.match(/cm-lab: modules \d+ loaded, \d+ kB:(.*)/)?.[1]
        .trim().split(/\s+/) ?? [];
      assert.ok(loaded.length > 0, "the lab's report lists the loaded modules");
      for (const m of NOT_LOADED) assert.ok(!loaded.includes(m), `${m} loaded: ${loaded}`);
      for (const m of LOADED) assert.ok(loaded.includes(m), `${m} not loaded: ${loaded}`);

      // 5. power off stops the guest: its QEMU process is gone
      qmp.close();
      qmp = null;
      const pid = Number(await Deno.readTextFile(`${dir}/qemu/node01.pid`));
      assert.ok(alive(pid), `QEMU (pid ${pid}) runs the guest`);
      const off = await lab.api("POST", "/nodes/1/power", { state: "off" });
      assert.equal(off.status, 200, JSON.stringify(off));
      assert.equal((await node()).power.actual, "off");
      assert.ok(!alive(pid), `QEMU (pid ${pid}) is gone after power off`);
      assert.equal((await lab.api("GET", "/health")).status, 200, "the hub is still up");
      log("powered off");
      ok = true;
    } finally {
      qmp?.close();
      await timeline?.stop();
      if (!ok && lab) {
        console.error(
          `hub log tail:\n${(await Deno.readTextFile(lab.hubLog).catch(() => "")).slice(-2000)}`,
        );
        console.error(
          `console tail:\n${
            (await Deno.readTextFile(lab.consoleLog(1)).catch(() => "")).slice(-4000)
          }`,
        );
      }
      await lab?.stop();
      if (ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
