/**
 * Load and fault benchmark (not a test): how the hub holds up under connection floods.
 *
 *   deno task bench:load [--ws 2000] [--sse 2000] [--slowloris 500] [--probe-seconds 8]
 *                        [--nofile 4096] [--only ws,ws-quiet,sse,slowloris] [--max-minutes 8]
 *                        [--hub-args="--max-sockets 4000 …"]
 *
 * Starts the hub as its own process on 127.0.0.1 (simulated module with virtual agents,
 * `--time-scale 0.05`, under `ulimit -n NOFILE` like the unit's LimitNOFILE), measures it
 * idle, then runs each flood separately from a client process (bench/load_clients.ts, with
 * its own fd limit) and reports, per flood: how many connections the hub took or refused,
 * `GET /api/v1/health` p50/p99 (one probe every 20 ms, each on a new connection), the latency of
 * `POST /api/v1/power {"state":"on","nodes":"1-60"}` (and back off) with the admin token,
 * the hub's peak RSS and fd count (/proc/PID/status, /proc/PID/fd), and after the clients
 * leave: the time until the fd count is back near idle (within 10), the time until RSS is
 * within 50 MiB of idle, and RSS --settle-seconds later. For slowloris
 * also how long the hub took to drop the trickling connections.
 *
 * Loopback only; every wait is bounded; children and the temp dir are removed on exit, and a
 * watchdog kills everything after --max-minutes.
 */
import { parseArgs } from "node:util";
import { Children } from "./lib/process.ts";
import { fdCount, peakSampler, rssMiB } from "./lib/proc.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ws: { type: "string", default: "2000" },
    sse: { type: "string", default: "2000" },
    slowloris: { type: "string", default: "500" },
    "probe-seconds": { type: "string", default: "8" },
    nofile: { type: "string", default: "4096" },
    only: { type: "string", default: "ws,sse,slowloris" },
    "hub-args": { type: "string", default: "" },
    "settle-seconds": { type: "string", default: "20" },
    "max-minutes": { type: "string", default: "8" },
  },
});
const HOST = "127.0.0.1";
const PROBE_SECONDS = Number(flags["probe-seconds"]);
const NOFILE = Number(flags.nofile);
const SETTLE_SECONDS = Number(flags["settle-seconds"]);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${s}`);

// ---------------------------------------------------------------- processes

const children = new Children();
let tempDir = "";

function killAll() {
  children.killAllNow();
}

// ---------------------------------------------------------------- measures

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

/** No kept-alive connections: every probe connects anew, as a new client would. */
const freshClient = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });

/** Health probes every 20 ms for `seconds`; a probe that fails counts as its timeout. */
async function probeHealth(url: string, seconds: number) {
  const lat: number[] = [];
  let failed = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    try {
      const r = await fetch(`${url}/api/v1/health`, {
        signal: AbortSignal.timeout(2000),
        client: freshClient,
      });
      await r.body?.cancel();
      if (r.status !== 200) failed++;
    } catch {
      failed++;
    }
    lat.push(performance.now() - t0);
    await sleep(20);
  }
  return { n: lat.length, failed, p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat) };
}

async function powerCall(url: string, token: string, state: "on" | "off") {
  const t0 = performance.now();
  try {
    const r = await fetch(`${url}/api/v1/power`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ state, nodes: "1-60" }),
      signal: AbortSignal.timeout(60_000),
    });
    await r.body?.cancel();
    return { ms: performance.now() - t0, status: r.status };
  } catch (e) {
    return { ms: performance.now() - t0, status: 0, error: String(e) };
  }
}

// ---------------------------------------------------------------- run

const watchdog = setTimeout(() => {
  console.error("load_bench: watchdog fired, killing everything");
  killAll();
  Deno.exit(3);
}, Number(flags["max-minutes"]) * 60_000);
Deno.addSignalListener("SIGINT", () => {
  killAll();
  Deno.exit(130);
});

const results: Record<string, unknown>[] = [];
try {
  tempDir = await Deno.makeTempDir({ prefix: "cm-load-bench-" });
  const token = crypto.randomUUID().replaceAll("-", "");
  const hub = children.shell(
    "hub",
    `ulimit -n ${NOFILE} && exec '${Deno.execPath()}' run --allow-all hub/main.ts ` +
      `--host ${HOST} --port 0 --data-dir '${tempDir}' --token ${token} ` +
      `--agent-key ${token}k --time-scale 0.05 ${flags["hub-args"]}`,
    { stderr: "lines" },
  );
  const { m } = await hub.line(/on http:\/\/[^\s]*:([0-9]+)/, 30_000);
  const url = `http://${HOST}:${m[1]}`;
  const pid = hub.pid;
  log(`hub pid ${pid} at ${url} (ulimit -n ${NOFILE}) ${flags["hub-args"]}`);
  await sleep(500);
  log(hub.lines.find((l) => l.includes("at most")) ?? "");
  await sleep(2000);
  // Idle: one power cycle first, so the baseline includes booted virtual agents' code paths.
  await powerCall(url, token, "on");
  await sleep(2500);
  await powerCall(url, token, "off");
  await sleep(1500);
  const idleHealth = await probeHealth(url, 3);
  const idleOn = await powerCall(url, token, "on");
  await sleep(2000);
  const idleOff = await powerCall(url, token, "off");
  await sleep(1000);
  const idleRss = rssMiB(pid), idleFds = fdCount(pid);
  log(
    `idle: RSS ${f1(idleRss)} MiB, ${idleFds} fds, health p50 ${f1(idleHealth.p50)} p99 ${
      f1(idleHealth.p99)
    } ms, power on ${f1(idleOn.ms)} / off ${f1(idleOff.ms)} ms`,
  );
  results.push({
    flood: "none (idle)",
    rssMiB: idleRss,
    fds: idleFds,
    health: idleHealth,
    powerOnMs: idleOn.ms,
    powerOffMs: idleOff.ms,
  });

  const floods: [string, number][] = [
    ["ws", Number(flags.ws)],
    ["ws-quiet", Number(flags.ws)],
    ["sse", Number(flags.sse)],
    ["slowloris", Number(flags.slowloris)],
  ];
  for (const [mode, count] of floods) {
    if (!flags.only.split(",").includes(mode)) continue;
    log(`flood ${mode} × ${count}`);
    const s = peakSampler(pid);
    const t0 = performance.now();
    const clients = children.shell(
      `clients ${mode}`,
      `ulimit -n ${Math.max(4096, count * 2 + 512)} && exec '${Deno.execPath()}' run ` +
        `--allow-net bench/load_clients.ts ${mode} ${count} ${url}`,
      { stdin: true, stderr: "lines" },
    );
    await clients.line(/"done":true/, 120_000);
    const openMs = performance.now() - t0;
    log(`  clients: ${clients.lines.at(-1)} after ${f1(openMs)} ms`);
    // Probes and a power cycle while the flood holds.
    const healthP = probeHealth(url, PROBE_SECONDS);
    await sleep(300);
    const on = await powerCall(url, token, "on");
    await sleep(1500);
    const off = await powerCall(url, token, "off");
    const health = await healthP;
    const alive = !hub.exited;
    // The clients' counts at the end of the probes (refusals may arrive after "done").
    const during = clients.lines.at(-1) ?? "";
    log(`  clients after the probes: ${during}`);
    // Slowloris: wait (bounded) until the hub has dropped every trickling connection.
    let droppedMs = NaN;
    if (mode === "slowloris") {
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        const last = JSON.parse(clients.lines.at(-1) ?? "{}");
        if (last.open === 0) {
          droppedMs = performance.now() - t0;
          break;
        }
        await sleep(200);
      }
    }
    // Clients leave; recovery = time until fds are back within 10 of idle.
    const tLeave = performance.now();
    await clients.closeStdin();
    await clients.exitsWithin(10_000);
    clients.kill("SIGKILL");
    let recoveryMs = NaN;
    const endRec = Date.now() + 30_000;
    while (Date.now() < endRec && !hub.exited) {
      if (fdCount(pid) <= idleFds + 10) {
        recoveryMs = performance.now() - tLeave;
        break;
      }
      await sleep(50);
    }
    const { peakRssMiB, peakFds } = await s.stop();
    const peaks = { peakRss: peakRssMiB, peakFds };
    // Memory: how long until RSS is back within 50 MiB of idle (bounded), and RSS at the end.
    let rssBackMs = NaN;
    const endRss = Date.now() + SETTLE_SECONDS * 1000;
    while (Date.now() < endRss && !hub.exited) {
      if (Number.isNaN(rssBackMs) && rssMiB(pid) <= idleRss + 50) {
        rssBackMs = performance.now() - tLeave;
      }
      await sleep(250);
    }
    const settledRss = hub.exited ? NaN : rssMiB(pid);
    const settledFds = hub.exited ? NaN : fdCount(pid);
    const row = {
      flood: `${mode} × ${count}`,
      clients: JSON.parse(during || "{}"),
      hubAlive: alive,
      health,
      powerOn: on,
      powerOff: off,
      peakRssMiB: peaks.peakRss,
      peakFds: peaks.peakFds,
      settledRssMiB: settledRss,
      settledFds,
      recoveryMs,
      rssBackWithin50MiBMs: rssBackMs,
      slowlorisDroppedAfterMs: droppedMs,
    };
    results.push(row);
    log(
      `  health p50 ${f1(health.p50)} p99 ${f1(health.p99)} max ${f1(health.max)} ms ` +
        `(${health.failed}/${health.n} failed); power on ${f1(on.ms)} ms (${on.status}), ` +
        `off ${f1(off.ms)} ms (${off.status})`,
    );
    log(
      `  peak RSS ${f1(peaks.peakRss)} MiB, peak fds ${peaks.peakFds}; after the clients left: ` +
        `fds back in ${f1(recoveryMs)} ms, RSS within 50 MiB of idle after ${f1(rssBackMs)} ms, ` +
        `RSS ${SETTLE_SECONDS} s later ${f1(settledRss)} MiB (${settledFds} fds)` +
        (mode === "slowloris" ? `; all slowloris dropped after ${f1(droppedMs)} ms` : ""),
    );
    if (hub.exited) {
      log(`hub EXITED: ${hub.errLines.slice(-5).join(" | ")}`);
      break;
    }
  }
  console.log("JSON " + JSON.stringify({ date: new Date().toISOString(), results }));
} finally {
  clearTimeout(watchdog);
  await children.stopAll(1500);
  if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
}
