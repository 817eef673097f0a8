/**
 * The hub on a Raspberry Pi 3B+ (emulated: QEMU raspi3b, Debian's arm64 kernel, the board's own
 * device tree): installed by scripts/hub/install-hub.sh into the guest's root from this x86
 * machine (it picks Deno for arm64 itself), started with its unit's exact flags
 * (tests/pi/guest/hub_service.ts), reached over QEMU's user network from the host's loopback.
 *
 * - its netboot mode probe sees a Raspberry Pi (the device tree's model) and goes live;
 * - its `gpio` power driver switches rails on the SoC's own pinctrl-bcm2835 lines, seen in
 *   GPLEV0 read from outside over QMP;
 * - a hub restart (SIGTERM, start again, as systemd does) leaves powered lines untouched: GPLEV0
 *   sampled all through the restart never changes.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import type { PiGuest } from "../../scripts/pi-lab/guest.ts";
import { arm64Root, must, piLabTest, skipUnlessLab, sleep } from "./_lab.ts";

const PROJ = new URL("../../", import.meta.url).pathname;
const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("hub on a Pi 3B+", board, ["npm", "arch-test"]);
const RAIL = { 1: 5, 2: 6 } as const; // node → BCM GPIO of its rail (read in GPLEV0)
/**
 * The hub wires every bay: a 48-bay module (--nodes 48) on the SoC's 54 GPIOs, bays 1 and 2 as
 * above, the others on the lines left over, keeping 14 and 15 (the serial console's UART), 21
 * (the bay LED) and 29 (the 3B+'s ACT LED, a gpio-leds line the kernel holds).
 */
const WIRING: Record<number, number> = (() => {
  const w: Record<number, number> = { ...RAIL };
  const free = Array.from({ length: 54 }, (_, i) => i)
    .filter((g) => ![14, 15, 21, 29, ...Object.values(RAIL)].includes(g));
  for (let bay = 3; bay <= 48; bay++) w[bay] = free.shift()!;
  return w;
})();

piLabTest(
  "hub on a Pi 3B+: install-hub.sh, unit flags, netboot live, gpio rails in GPLEV0, restart",
  { skip, board, run: "hub" },
  async ({ log, boot, onFailure, dir }) => {
    const { root: R } = await arm64Root(dir);
    // the installer users run, into the guest's root (no --deno-binary: it picks arm64 itself)
    await must("sh", [`${PROJ}/scripts/hub/install-hub.sh`, "--root", R], {
      ...Deno.env.toObject(),
      CM_BIN_DIR: "/usr/bin",
    });
    const deno = await must("file", ["-L", `${R}/opt/cluster-hub/bin/deno`]);
    assert.match(deno, /ARM aarch64/, "install-hub.sh put Deno for arm64 into an arm64 root");
    log("hub installed by install-hub.sh");
    await Deno.mkdir(`${R}/t`, { recursive: true });
    await must(Deno.execPath(), [
      "bundle",
      "-q",
      "--platform",
      "deno",
      "-o",
      `${R}/t/hub_service.js`,
      `${PROJ}/tests/pi/guest/hub_service.ts`,
    ]);
    const token = crypto.randomUUID().replaceAll("-", "");
    await Deno.writeTextFile(
      `${R}/etc/cluster-hub/power.json`,
      JSON.stringify({
        driver: "gpio",
        backend: "auto",
        lines: Object.entries(WIRING).map(([node, gpio]) => ({ node: Number(node), gpio })),
      }),
    );
    await Deno.writeTextFile(
      `${R}/etc/cluster-hub/netboot.json`,
      JSON.stringify({ clusterInterface: "usb0", paths: { configDir: "/tmp/netboot" } }),
    );
    await Deno.writeTextFile(
      `${R}/etc/cluster-hub/hub.args`,
      `--power-config /etc/cluster-hub/power.json --netboot-config /etc/cluster-hub/netboot.json --token ${token} --no-agents --nodes 48`,
    );

    const port = 20000 + Math.floor(Math.random() * 20000);
    const controlPort = port + 1;
    const url = `http://127.0.0.1:${port}/api/v1`;
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: r.status, body: await r.json() };
    };
    const waitHub = async (g: PiGuest, ms: number) => {
      const until = performance.now() + ms;
      let last = "";
      while (performance.now() < until) {
        const exited = (await g.console()).match(/PI-HUB exited \d+/);
        if (exited) throw new Error(`the hub in the guest stopped: ${exited[0]}`);
        const r = await api("GET", "/module").catch((e) => {
          last = `${e} ${(e as Error).cause ?? ""}`;
          return null;
        });
        if (r?.status === 200) return;
        if (r) last = `HTTP ${r.status}`;
        await sleep(1000);
      }
      throw new Error(`the hub in the guest did not answer in ${ms} ms (last: ${last})`);
    };
    /**
     * Waits until the hub has read its rails, after it answers (it listens first; until then
     * power commands get 503): a `hub_started` event that is not among `before`. Returns them all.
     */
    type Ev = { id: number; type: string };
    const hubStarts = async () =>
      ((await api("GET", "/events?format=json&limit=1000").catch(() => null))?.body as
        | Ev[]
        | undefined)
        ?.filter((e) => e.type === "hub_started").map((e) => e.id) ?? [];
    const waitStarted = async (before: number[], ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        const now = await hubStarts();
        if (now.some((id) => !before.includes(id))) return now;
        await sleep(500);
      }
      throw new Error(`the hub in the guest did not read its rails in ${ms} ms`);
    };
    const level = async (g: PiGuest, gpio: number) =>
      ((await g.qmp.readPhys32(board.gplev0)) >>> gpio) & 1;

    const guest = await boot(`${PROJ}/tests/pi/guest/init.sh`, "rdinit=/init loglevel=4", {
      extraDirs: [R],
      net: {
        kind: "user",
        hostfwd: [`tcp:127.0.0.1:${port}-:4242`, `tcp:127.0.0.1:${controlPort}-:4243`],
      },
    });
    onFailure(async () => {
      const usernet = await guest.qmp.hmp("info usernet").catch((e) => String(e));
      console.error(`QEMU user net:\n${usernet}`);
    });
    await guest.waitForConsole(/PI-HUB started/, 240_000);
    await waitHub(guest, 240_000);
    const startsBefore = await waitStarted([], 120_000);
    log("hub answers, rails read");
    const text = await guest.console();
    assert.match(text, /PI-HUB model Raspberry Pi 3 Model B\+/);

    // netboot: the probe saw a Raspberry Pi, as root: live
    const nb = await api("GET", "/netboot/status");
    log(`netboot ${nb.body.mode}: ${nb.body.modeReason}`);
    assert.equal(nb.body.mode, "live", JSON.stringify(nb.body));
    assert.match(nb.body.modeReason, /Raspberry Pi/);

    // gpio rails on pinctrl-bcm2835, seen in GPLEV0
    assert.equal(await level(guest, RAIL[1]), 0);
    assert.equal(await level(guest, RAIL[2]), 0);
    const on1 = await api("POST", "/nodes/1/power", { state: "on" });
    assert.equal(on1.status, 200, JSON.stringify(on1.body));
    assert.equal(await level(guest, RAIL[1]), 1, "node 1's rail is up in GPLEV0");
    assert.equal(await level(guest, RAIL[2]), 0, "node 2's rail is untouched");
    const on2 = await api("POST", "/nodes/2/power", { state: "on" });
    assert.equal(on2.status, 200, JSON.stringify(on2.body));
    assert.equal(await level(guest, RAIL[2]), 1);
    log("rails 1 and 2 up in GPLEV0");

    // restart: sample both rails through it; they never drop. Sampling lasts until the new
    // process has read its rails (its `hub_started` event): it answers before that (it
    // listens first), and the reads and any restore come after.
    const samples: { t: number; word: number }[] = [];
    let restarting = true;
    const sampler = (async () => {
      while (restarting) {
        samples.push({ t: performance.now(), word: await guest.qmp.readPhys32(board.gplev0) });
      }
    })();
    try {
      const ctl = await Deno.connect({ hostname: "127.0.0.1", port: controlPort });
      await ctl.write(new TextEncoder().encode("restart\n"));
      ctl.close();
      await guest.waitForConsole(/PI-HUB restarted/, 180_000);
      await waitHub(guest, 240_000);
      await waitStarted(startsBefore, 120_000).catch(() => {}); // (asserted below)
      await sleep(2000); // and a restore job, had there been drift
    } finally {
      restarting = false;
      await sampler.catch(() => {});
    }
    const dropped = samples.filter((s) =>
      ((s.word >>> RAIL[1]) & 1) !== 1 || ((s.word >>> RAIL[2]) & 1) !== 1
    );
    log(
      `restart: ${samples.length} GPLEV0 samples over ${
        ((samples.at(-1)!.t - samples[0].t) / 1000).toFixed(1)
      } s`,
    );
    assert.ok(samples.length > 100);
    assert.equal(
      dropped.length,
      0,
      `a rail dropped during the restart (${dropped.length} samples)`,
    );
    assert.ok(
      (await hubStarts()).some((id) => !startsBefore.includes(id)),
      "the restarted hub read its rails while GPLEV0 was sampled",
    );
    const n1 = await api("GET", "/nodes/1");
    assert.equal(n1.body.power.actual, "on", JSON.stringify(n1.body.power));

    // and off again
    const off = await api("POST", "/nodes/1/power", { state: "off" });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(await level(guest, RAIL[1]), 0);
    assert.equal(await level(guest, RAIL[2]), 1);
  },
);
