/**
 * The installed hub on the real kernel, started as cluster-hub.service starts it: the GPIO-line
 * power driver on gpio-sim lines (sysfs) and the I2C driver on MCP23017/PCA9555 over i2c-stub,
 * driven through REST and checked from outside (gpio-sim values, i2cget, tracepoints); hub
 * restarts after SIGTERM and kill -9 with nodes on; the netboot mode probe.
 */
import { check, note, sleep, waitFor } from "./check.ts";
import { HubApi, type Service, startInstalledHub } from "./installed.ts";
import {
  gpioSets,
  i2cget,
  i2cset,
  setPull,
  type SimChip,
  simValue,
  smbusWrites,
  traceStart,
  traceStop,
} from "./kernel.ts";
import { openDevI2cBus } from "../../../shared/pins/i2c/dev_i2c.ts";

const TOKEN = "kernel-lab-admin-token";
const api = new HubApi("http://127.0.0.1:4242", TOKEN);

/**
 * GPIO wiring of all 60 bays on the 64-line gpio-sim chip: bays 1-6 on the lines named below,
 * the others on the lines left over (21 and 22 stay free: the LED and the line checks use them).
 * Bays 5 and 6 have a rail sense line; bay 6's rail is dead.
 */
const SENSE: Record<number, number> = { 5: 19, 6: 20 };
const CONTROL: Record<number, number> = (() => {
  const wiring: Record<number, number> = { 1: 4, 2: 5, 3: 6, 4: 12, 5: 13, 6: 16 };
  const taken = new Set([...Object.values(wiring), ...Object.values(SENSE), 21, 22]);
  const free = Array.from({ length: 64 }, (_, i) => i).filter((l) => !taken.has(l));
  for (let bay = 7; bay <= 60; bay++) wiring[bay] = free.shift()!;
  return wiring;
})();
const DEAD_RAIL = 6;

/** A new module: no state stored by an earlier hub in this guest. */
function forgetState(): void {
  try {
    Deno.removeSync("/var/lib/cluster-hub", { recursive: true });
  } catch { /* none yet */ }
}

async function startHub(config: string): Promise<Service> {
  const t = performance.now();
  Deno.mkdirSync("/var/lib/cluster-hub", { recursive: true }); // systemd's StateDirectory=
  const hub = startInstalledHub(`--power-config ${config} --token ${TOKEN} --no-agents`);
  // up: answering, and done reading its rails (until then power commands get 503 not_ready)
  const up = await waitFor(
    async () => hub.exited() || (/hub: ready/.test(hub.output()) && await api.up()),
    90_000,
    200,
  ) && !hub.exited();
  if (!up) {
    await hub.stop("SIGKILL");
    throw new Error(`the installed hub did not come up in 90 s:\n${hub.output()}`);
  }
  note(`hub up after ${Math.round(performance.now() - t)} ms`);
  return hub;
}

async function power(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return await api.call("POST", path, body);
}

/** The BitBar's side of the GPIO wiring: a rail follows its enable line unless it is dead. */
function gpioBoard(chip: SimChip): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const [bay, sense] of Object.entries(SENSE)) {
        const up = simValue(chip, CONTROL[Number(bay)]) === 1 && Number(bay) !== DEAD_RAIL;
        setPull(chip, sense, up);
      }
      await sleep(5);
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

function values(chip: SimChip, bays: number[]): string {
  return bays.map((b) => `${b}:${simValue(chip, CONTROL[b])}`).join(" ");
}

/** GPIO-line driver: REST power on/off/cycle, readback fault, inrush windows, restarts. */
export async function gpioPowerChecks(chip: SimChip): Promise<void> {
  const config = "/etc/cluster-hub/power-gpio.json";
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      driver: "gpio",
      backend: "sysfs",
      readbackMs: 2000,
      lines: Object.entries(CONTROL).map(([node, gpio]) => ({
        node: Number(node),
        gpio,
        ...(SENSE[Number(node)] ? { sense: SENSE[Number(node)] } : {}),
      })),
    }),
  );
  const stopBoard = gpioBoard(chip);
  forgetState();
  let hub = await startHub(config);
  try {
    await waitFor(() => Promise.resolve(/at most/.test(hub.output())), 5000, 100);
    check(
      "unit: under the unit's LimitNOFILE the hub keeps its full connection cap",
      /at most 1000 connections/.test(hub.output()),
      hub.output().split("\n").find((l) => l.includes("at most")) ?? "no caps line",
    );
    // The dashboard's terminal emulator comes from the npm package install-hub.sh installed,
    // served by the hub itself (no CDN: this guest has no network at all).
    const xterm = await fetch("http://127.0.0.1:4242/dashboard/vendor/xterm.js");
    const xtermText = await xterm.text();
    check(
      "installed hub serves xterm.js for the dashboard console",
      xterm.status === 200 && xtermText.includes("Terminal") && xtermText.length > 100_000,
      `${xterm.status}, ${xtermText.length} bytes`,
    );
    let r = await power("/nodes/1/power", { state: "on" });
    check(
      "gpio: POST /nodes/1/power on -> 200, line 4 high",
      r.status === 200 && simValue(chip, 4) === 1,
      `${r.status} ${values(chip, [1])}`,
    );
    r = await power("/nodes/1/power", { state: "off" });
    check(
      "gpio: node 1 off -> line 4 low",
      r.status === 200 && simValue(chip, 4) === 0,
      `${r.status}`,
    );

    traceStart(["gpio/gpio_value"]);
    r = await power("/power", { state: "on", nodes: "1-5" });
    const riseSets = gpioSets(traceStop()).filter((e) =>
      e.value === 1 &&
      [1, 2, 3, 4, 5].some((b) => e.gpio === chip.base + CONTROL[b])
    );
    const rises = riseSets.map((e) => e.t).sort((a, b) => a - b);
    check(
      "gpio: POST /power on 1-5 -> 200, lines high",
      r.status === 200 &&
        [1, 2, 3, 4, 5].every((b) => simValue(chip, CONTROL[b]) === 1),
      `${r.status} ${values(chip, [1, 2, 3, 4, 5])}`,
    );
    const gaps = rises.map((t) => Math.round(t - rises[0]));
    note(
      `inrush: rising edges at ${gaps.join(", ")} ms (kernel timestamps): ${
        JSON.stringify(riseSets)
      }`,
    );
    // One BitBar: 2 rails per 100 ms window. The hub counts windows from its grants; under TCG a
    // write lands up to ~10 ms after its grant (on a Pi, microseconds), hence 80 ms here.
    const crowded = rises.some((t, i) => i >= 2 && t - rises[i - 2] < 80);
    check(
      "gpio: inrush: 5 rails in windows of 2, the next window >= 80 ms later (tracepoint)",
      rises.length === 5 && !crowded && rises[4] - rises[0] >= 160,
      gaps.join(","),
    );

    traceStart(["gpio/gpio_value"]);
    r = await power("/nodes/3/power", { state: "cycle" });
    const n3 = gpioSets(traceStop()).filter((e) => e.gpio === chip.base + CONTROL[3]).map((e) =>
      e.value
    );
    check(
      "gpio: cycle node 3 -> line 6 went low then high",
      r.status === 200 && n3.join("").includes("01") && simValue(chip, 6) === 1,
      `${r.status} sets ${n3.join("")}`,
    );

    r = await power("/power", { state: "off", nodes: "2-3" });
    check(
      "gpio: off 2-3 -> lines 5, 6 low; 1, 4, 5 stay high",
      r.status === 200 &&
        simValue(chip, 5) === 0 && simValue(chip, 6) === 0 && [1, 4, 5].every((b) =>
          simValue(chip, CONTROL[b]) === 1
        ),
      values(chip, [1, 2, 3, 4, 5]),
    );
    const n5 = await api.call("GET", "/nodes/5");
    check(
      "gpio: node 5's rail sense follows: power on",
      n5.json?.power?.actual === "on",
      JSON.stringify(n5.json?.power),
    );

    r = await power("/nodes/6/power", { state: "on" });
    const err = r.json as { error?: { code?: string; message?: string } };
    check(
      "gpio: a dead rail (sense stays low) -> 502 hardware_fault naming sense GPIO 20",
      r.status === 502 && err.error?.code === "hardware_fault" &&
        /sense GPIO 20/.test(err.error?.message ?? ""),
      `${r.status} ${JSON.stringify(r.json)}`,
    );

    // Restarts with nodes 1, 4, 5 on: no transition on any powered line.
    const powered = [1, 4, 5].map((b) => chip.base + CONTROL[b]);
    for (const how of ["SIGTERM", "SIGKILL"] as const) {
      traceStart(["gpio/gpio_value"]);
      const code = await hub.stop(how);
      const between = values(chip, [1, 4, 5]);
      hub = await startHub(config);
      await sleep(1500);
      const drops = gpioSets(traceStop()).filter((e) => powered.includes(e.gpio) && e.value === 0);
      check(
        `gpio: hub restart after ${how} (exit ${code}): powered lines stayed high while it was down`,
        between === "1:1 4:1 5:1",
        between,
      );
      check(
        `gpio: hub restart after ${how}: no transition on a powered line (tracepoint)`,
        drops.length === 0 && [1, 4, 5].every((b) => simValue(chip, CONTROL[b]) === 1),
        JSON.stringify(drops),
      );
      const nodes = await api.call("GET", "/nodes");
      // deno-lint-ignore no-explicit-any
      const on = (nodes.json as any[]).filter((n) => n.power.actual === "on").map((n) => n.id);
      check(
        `gpio: after the ${how} restart the hub reads 1, 4, 5 on`,
        [1, 4, 5].every((b) => on.includes(b)),
        JSON.stringify(on),
      );
    }
    const status = await api.call("GET", "/netboot/status");
    note(`netboot status: ${JSON.stringify(status.json)}`);
    check(
      "netboot: mode probe gives a clear reason (root, x86: not a Raspberry Pi)",
      status.json?.mode === "dry" && status.json?.modeReason === "not running on a Raspberry Pi",
      JSON.stringify({ mode: status.json?.mode, reason: status.json?.modeReason }),
    );
  } finally {
    const code = await hub.stop("SIGTERM");
    note(`gpio hub stopped (${code}); output:\n${hub.output()}`);
    await stopBoard();
  }
}

/**
 * Four expanders on /dev/i2c-0 wire all 60 bays: MCP23017 0x20 (nodes 1-16), PCA9555 0x21
 * (17-32), MCP23017 0x22 (33-48), PCA9555 0x23 (49-60). Node 20's pin (0x21 pin 3) is dead.
 */
const MCP = 0x20, PCA = 0x21;
const CHIPS = [
  { address: 0x20, type: "mcp23017", first: 1 },
  { address: 0x21, type: "pca9555", first: 17 },
  { address: 0x22, type: "mcp23017", first: 33 },
  { address: 0x23, type: "pca9555", first: 49 },
] as const;
const DEAD_PCA_PIN = 3; // node 20

/** The chips' pin logic i2c-stub lacks: pin registers follow the output latches. */
async function i2cBoard(): Promise<() => Promise<void>> {
  const bus = await openDevI2cBus(0);
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const c of CHIPS) {
        // MCP23017: OLATA/B (0x14, 0x15) -> GPIOA/B (0x12, 0x13); PCA9555: out (2, 3) -> in (0, 1)
        const [latch, pins] = c.type === "mcp23017" ? [0x14, 0x12] : [2, 0];
        for (const port of [0, 1]) {
          let v = await bus.readByteData(c.address, latch + port);
          if (c.address === PCA && port === 0) v &= ~(1 << DEAD_PCA_PIN);
          await bus.writeByteData(c.address, pins + port, v);
        }
      }
      await sleep(5);
    }
  })();
  return async () => {
    on = false;
    await loop;
    await bus.close();
  };
}

/** I2C driver: REST power through MCP23017 and PCA9555, checked with i2cget; a restart. */
export async function i2cPowerChecks(): Promise<void> {
  // Power-on defaults of the real chips (i2c-stub starts with every register 0).
  for (const c of CHIPS) {
    const regs = c.type === "mcp23017" ? [0x00, 0x01] : [6, 7, 2, 3]; // IODIR / config, output
    for (const r of regs) await i2cset(0, c.address, r, 0xff);
    if (c.type === "mcp23017") {
      for (const r of [0x0a, 0x14, 0x15]) await i2cset(0, c.address, r, 0);
    }
  }
  const config = "/etc/cluster-hub/power-i2c.json";
  Deno.writeTextFileSync(
    config,
    JSON.stringify({
      driver: "i2c",
      readbackMs: 2000,
      buses: CHIPS.map((c, i) => ({
        bus: i + 1,
        i2cDevice: 0,
        chips: [{ type: c.type, address: c.address }],
      })),
      nodes: Array.from({ length: 60 }, (_, i) => {
        const chip = CHIPS.findLastIndex((c) => c.first <= i + 1);
        return {
          node: i + 1,
          bus: chip + 1,
          chip: CHIPS[chip].address,
          pin: i + 1 - CHIPS[chip].first,
        };
      }),
    }),
  );
  const stopBoard = await i2cBoard();
  forgetState();
  let hub = await startHub(config);
  try {
    const dirA = await i2cget(0, MCP, 0x00), cfg0 = await i2cget(0, PCA, 6);
    check(
      "i2c: hub made all 16 MCP23017 pins outputs, latch off (IODIRA 0, OLATA 0)",
      dirA === 0 && (await i2cget(0, MCP, 0x14)) === 0,
      `IODIRA ${dirA.toString(16)}`,
    );
    check(
      "i2c: hub made all PCA9555 pins outputs, latch off (cfg0 0, out0 0)",
      cfg0 === 0 && (await i2cget(0, PCA, 2)) === 0,
      `cfg0 ${cfg0.toString(16)} out0 ${(await i2cget(0, PCA, 2)).toString(16)}`,
    );
    let r = await power("/nodes/2/power", { state: "on" });
    check(
      "i2c: node 2 on -> OLATA 0x02",
      r.status === 200 && (await i2cget(0, MCP, 0x14)) === 0x02,
      `${r.status}`,
    );
    r = await power("/power", { state: "on", nodes: "1-3,17-19" });
    const olat = await i2cget(0, MCP, 0x14), out0 = await i2cget(0, PCA, 2);
    check(
      "i2c: on 1-3,17-19 -> OLATA 0x07, 0x21 out0 0x07",
      r.status === 200 && olat === 0x07 && out0 === 0x07,
      `${r.status} OLATA ${olat.toString(16)} out0 ${out0.toString(16)}`,
    );
    traceStart(["smbus/smbus_write"]);
    r = await power("/nodes/18/power", { state: "cycle" });
    const w8 = smbusWrites(traceStop()).filter((w) => w.addr === PCA && w.reg === 2).map((w) =>
      (w.value >> 1) & 1
    );
    check(
      "i2c: cycle node 18 -> PCA9555 out0 bit 1 went 0 then 1",
      r.status === 200 && w8.join("") === "01",
      `${r.status} ${w8.join("")}`,
    );
    r = await power("/nodes/1/power", { state: "off" });
    check(
      "i2c: node 1 off -> OLATA 0x06",
      r.status === 200 && (await i2cget(0, MCP, 0x14)) === 0x06,
      `${r.status}`,
    );
    r = await power("/nodes/20/power", { state: "on" });
    check(
      "i2c: a pin that does not follow its latch -> 502 hardware_fault naming the chip",
      r.status === 502 && /PCA9555 0x21 on \/dev\/i2c-0 pin 3/.test(JSON.stringify(r.json)),
      `${r.status} ${JSON.stringify(r.json)}`,
    );
    await power("/nodes/20/power", { state: "off" });

    // Restart with 2, 3, 17, 18, 19 on: no write changes a powered pin's latch or direction.
    const before = [
      await i2cget(0, MCP, 0x14),
      await i2cget(0, MCP, 0x00),
      await i2cget(0, PCA, 2),
      await i2cget(0, PCA, 6),
    ];
    traceStart(["smbus/smbus_write"]);
    const code = await hub.stop("SIGTERM");
    hub = await startHub(config);
    await sleep(1500);
    const writes = smbusWrites(traceStop()).filter((w) =>
      (w.addr === MCP && [0x14, 0x00].includes(w.reg)) || (w.addr === PCA && [2, 6].includes(w.reg))
    );
    const after = [
      await i2cget(0, MCP, 0x14),
      await i2cget(0, MCP, 0x00),
      await i2cget(0, PCA, 2),
      await i2cget(0, PCA, 6),
    ];
    const harmful = writes.filter((w) =>
      (w.addr === MCP && w.reg === 0x14 && (w.value & 0x06) !== 0x06) ||
      (w.addr === MCP && w.reg === 0x00 && (w.value & 0x06) !== 0) ||
      (w.addr === PCA && w.reg === 2 && (w.value & 0x07) !== 0x07) ||
      (w.addr === PCA && w.reg === 6 && (w.value & 0x07) !== 0)
    );
    note(`i2c restart (exit ${code}): writes to latch/direction ${JSON.stringify(writes)}`);
    check(
      "i2c: hub restart after SIGTERM: no write touched a powered pin (tracepoint)",
      harmful.length === 0,
      JSON.stringify(harmful),
    );
    check(
      "i2c: hub restart: latches and directions unchanged",
      before.join() === after.join(),
      `${before} -> ${after}`,
    );
  } finally {
    const code = await hub.stop("SIGTERM");
    note(`i2c hub stopped (${code}); output:\n${hub.output()}`);
    await stopBoard();
  }
}

/**
 * The hub with the `deno task hub` flags before the fix: it must stop with a message naming the
 * fix. (The old unit's flag set plus --cached-only happened to amount to --allow-all in Deno
 * 2.9.6 and could read /proc: docs/permissions.md.)
 */
export async function hubNarrowFlagsCheck(): Promise<void> {
  const out = await new Deno.Command("timeout", {
    args: [
      "60",
      "/opt/cluster-hub/bin/deno",
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      "--allow-ffi",
      "/opt/cluster-hub/hub/main.ts",
      "--data-dir",
      "/tmp/narrow-hub",
      "--port",
      "4243",
      "--no-agents",
    ],
    cwd: "/opt/cluster-hub",
    env: { DENO_DIR: "/opt/cluster-hub/.deno" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  note(`hub with narrow flags: exit ${out.code}: ${err.trim()}`);
  check(
    "hub without --allow-all: stops naming /proc/device-tree/model and --allow-all",
    out.code !== 0 && /\/proc\/device-tree\/model.*--allow-all/.test(err),
    err,
  );
}
