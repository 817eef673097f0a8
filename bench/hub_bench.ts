/**
 * Hub benchmark (not a test). Starts the hub as a separate process on 127.0.0.1 (simulated
 * module, no virtual agents) and measures:
 *
 *  1. lost-detection latency: 60 real node agents (bench/agents.ts, a second process) beat at
 *     1 s; some are stopped one by one and the `heartbeat_lost` events are read back from
 *     `GET /api/v1/events?format=json`: event.at − data.lastHeartbeatAt and event.at − the
 *     time the agent was stopped;
 *  2. hub CPU (% of one core, from /proc/PID/stat) and RSS (/proc/PID/status VmRSS) while the
 *     60 agents beat, plus the agents process's CPU for context;
 *  3. heartbeat ingest throughput: wrk POSTing a valid Heartbeat (node 7, agent key) to the
 *     hub vs a bare `Deno.serve` that only parses the JSON (bench/bare_server.ts), same wrk
 *     settings, in `--pairs` interleaved runs (hub, bare; bare, hub; …): the median ratio and
 *     its spread. Without wrk a bounded in-process Deno load generator is used.
 *
 *   deno task bench:hub [--quick] [--cpu-seconds 60] [--stops 20] [--stop-gap-ms 2300]
 *                       [--wrk-seconds 8] [--pairs 9] [--wrk-threads 2] [--wrk-connections 32]
 *
 * All traffic stays on 127.0.0.1; every wait is bounded; children and temp dirs are removed
 * in finally blocks, and a watchdog ends the run after --max-minutes (default 10).
 */
import { parseArgs } from "node:util";
import { heartbeatJson } from "./lib/heartbeat.ts";
import { type Child, Children, type SpawnOptions } from "./lib/process.ts";
import { cpuTicks, loadavg, machine as procMachine, rssMiB } from "./lib/proc.ts";

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    "cpu-seconds": { type: "string" },
    stops: { type: "string" },
    "stop-gap-ms": { type: "string" },
    "wrk-seconds": { type: "string" },
    "wrk-threads": { type: "string" },
    "wrk-connections": { type: "string" },
    pairs: { type: "string" },
    "max-minutes": { type: "string", default: "10" },
  },
});
const quick = flags.quick;
function num(text: string | undefined, dflt: number, min: number, max: number, name: string) {
  const n = text === undefined ? dflt : Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`--${name} must be a number from ${min} to ${max}, not "${text}"`);
  }
  return n;
}
const opt = {
  cpuSeconds: num(flags["cpu-seconds"], quick ? 10 : 60, 1, 600, "cpu-seconds"),
  stops: num(flags.stops, quick ? 5 : 20, 1, 59, "stops"),
  stopGapMs: num(flags["stop-gap-ms"], quick ? 1300 : 2300, 100, 30_000, "stop-gap-ms"),
  wrkSeconds: num(flags["wrk-seconds"], quick ? 3 : 8, 1, 120, "wrk-seconds"),
  pairs: num(flags.pairs, quick ? 5 : 9, 1, 50, "pairs"),
  wrkThreads: num(flags["wrk-threads"], 2, 1, 16, "wrk-threads"),
  wrkConnections: num(flags["wrk-connections"], 32, 1, 1024, "wrk-connections"),
  maxMinutes: num(flags["max-minutes"], 10, 1, 60, "max-minutes"),
};
const HEARTBEAT_MS = 1000;
const LOST_AFTER_MS = 3000; // the hub's default --lost-after-ms
const NODES = 60;
const HOST = "127.0.0.1";
const ROOT = new URL("..", import.meta.url).pathname;
/** As the hub task and cluster-hub.service (docs/permissions.md): /proc needs --allow-all. */
const HUB_PERMS = ["--allow-all"];

// ---------------------------------------------------------------- small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${s}`);
const dec = new TextDecoder();

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? dec.decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

interface Stats {
  n: number;
  min: number;
  mean: number;
  max: number;
}
function stats(xs: number[]): Stats {
  if (xs.length === 0) return { n: 0, min: NaN, mean: NaN, max: NaN };
  return {
    n: xs.length,
    min: Math.min(...xs),
    mean: xs.reduce((s, x) => s + x, 0) / xs.length,
    max: Math.max(...xs),
  };
}
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "n/a");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

async function fetchJson(
  url: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch { /* retry until the deadline */ }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The q-quantile of sorted numbers (linear interpolation). */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

// ---------------------------------------------------------------- child processes

const children = new Children();
const tempDirs = new Set<string>();
const spawn = (name: string, cmd: string, args: string[], opts: SpawnOptions = {}) =>
  children.spawn(name, cmd, args, opts);
const killAllNow = () => children.killAllNow();

// ---------------------------------------------------------------- machine

interface Machine {
  nproc: string;
  cpu: string;
  memGiB: string;
  deno: string;
  clkTck: number;
  wrk: string | null;
}

async function machine(): Promise<Machine> {
  const m = procMachine();
  const clk = Number(await sh("getconf", ["CLK_TCK"])) || 100;
  const wrkV = await sh("sh", ["-c", "command -v wrk >/dev/null && wrk --version 2>&1 | head -1"]);
  return {
    nproc: (await sh("nproc", [])) || String(m.nproc),
    cpu: m.cpu,
    memGiB: f1(m.memGiB),
    deno: m.deno,
    clkTck: clk,
    wrk: wrkV ? wrkV.replace(/\s+Copyright.*$/, "").trim() : null,
  };
}

// ---------------------------------------------------------------- the hub

interface Hub {
  child: Child;
  url: string;
  token: string;
  key: string;
}

async function startHub(dataDir: string): Promise<Hub> {
  const token = randomHex(24);
  const key = randomHex(24);
  const child = spawn("hub", Deno.execPath(), [
    "run",
    ...HUB_PERMS,
    "hub/main.ts",
    "--no-agents",
    "--host",
    HOST,
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--token",
    token,
    "--agent-key",
    key,
    "--heartbeat-ms",
    String(HEARTBEAT_MS),
  ]);
  const { m } = await child.line(/on http:\/\/[^\s]*:([0-9]+)/, 30_000);
  const url = `http://${HOST}:${m[1]}`;
  await until("hub health", async () => {
    const r = await fetchJson(`${url}/api/v1/health`, { timeoutMs: 2000 });
    return r.status === 200 ? true : undefined;
  }, 15_000);
  return { child, url, token, key };
}

interface NodeLite {
  id: number;
  lifecycle: string;
}

async function runningCount(hub: Hub): Promise<number> {
  const r = await fetchJson(`${hub.url}/api/v1/nodes`);
  return (r.body as NodeLite[]).filter((n) => n.lifecycle === "running").length;
}

interface EventLite {
  id: number;
  at: number;
  type: string;
  node: number | null;
  data: Record<string, unknown>;
}

async function lastEventId(hub: Hub): Promise<number> {
  const r = await fetchJson(`${hub.url}/api/v1/events?format=json&limit=1`);
  const evs = r.body as EventLite[];
  return evs.length ? evs[evs.length - 1].id : 0;
}

/** Every stored event after `after` (paged, bounded to 50 pages). */
async function eventsAfter(hub: Hub, after: number): Promise<EventLite[]> {
  const all: EventLite[] = [];
  let cursor = after;
  for (let page = 0; page < 50; page++) {
    const r = await fetchJson(`${hub.url}/api/v1/events?format=json&after=${cursor}&limit=1000`);
    if (r.status !== 200) throw new Error(`events: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    const evs = r.body as EventLite[];
    all.push(...evs);
    if (evs.length < 1000) break;
    cursor = evs[evs.length - 1].id;
  }
  return all;
}

// ---------------------------------------------------------------- phases

interface CpuFigures {
  seconds: number;
  hubCpuPercent: number;
  hubRssMiB: Stats;
  agentsCpuPercent: number;
  agentsRssMiB: Stats;
  running: number;
}

async function sampleCpu(hubPid: number, agentsPid: number | null, seconds: number, clk: number) {
  const t0 = performance.now();
  const h0 = cpuTicks(hubPid);
  const a0 = agentsPid ? cpuTicks(agentsPid) : 0;
  const hubRss: number[] = [];
  const agRss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(Math.max(0, t0 + (i + 1) * 1000 - performance.now()));
    hubRss.push(rssMiB(hubPid));
    if (agentsPid) agRss.push(rssMiB(agentsPid));
  }
  const wall = (performance.now() - t0) / 1000;
  return {
    wall,
    hubCpuPercent: ((cpuTicks(hubPid) - h0) / clk / wall) * 100,
    hubRssMiB: stats(hubRss),
    agentsCpuPercent: agentsPid ? ((cpuTicks(agentsPid) - a0) / clk / wall) * 100 : NaN,
    agentsRssMiB: stats(agRss),
  };
}

interface LostFigures {
  stopped: number;
  detected: number;
  afterLastHeartbeat: Stats;
  afterStop: Stats;
  stopToLastHeartbeat: Stats;
  missing: number[];
  stuck: string[];
}

async function lostPhase(hub: Hub, agents: Child): Promise<LostFigures> {
  // Spread the stopped nodes over the buses: 3, 6, 9, … (every third bay).
  const step = Math.max(1, Math.floor(NODES / opt.stops));
  const nodes = Array.from({ length: opt.stops }, (_, i) => Math.min(NODES, (i + 1) * step));
  const before = await lastEventId(hub);
  const stoppedAt = new Map<number, number>();
  let from = 0;
  for (const [i, node] of nodes.entries()) {
    if (i > 0) await sleep(opt.stopGapMs);
    await agents.send(`stop ${node}`);
    const { m, i: at } = await agents.line(
      new RegExp(`^\\{"stopped":${node},"at":([0-9.]+)`),
      10_000,
      from,
    );
    from = at + 1;
    stoppedAt.set(node, Number(m[1]));
    log(`stopped agent ${node} (${i + 1}/${nodes.length})`);
  }
  // Wait for every stopped node's heartbeat_lost (bounded: lost-after + 5 s).
  let lost: EventLite[] = [];
  try {
    lost = await until(
      "heartbeat_lost events",
      async () => {
        const evs = (await eventsAfter(hub, before)).filter((e) => e.type === "heartbeat_lost");
        const got = new Set(evs.map((e) => e.node));
        return nodes.every((n) => got.has(n)) ? evs : undefined;
      },
      LOST_AFTER_MS + 5000,
      250,
    );
  } catch {
    lost = (await eventsAfter(hub, before)).filter((e) => e.type === "heartbeat_lost");
  }
  const byNode = new Map<number, EventLite>();
  for (const e of lost) if (e.node !== null && !byNode.has(e.node)) byNode.set(e.node, e);
  const afterHb: number[] = [];
  const afterStop: number[] = [];
  const stopToHb: number[] = [];
  const missing: number[] = [];
  for (const node of nodes) {
    const e = byNode.get(node);
    if (!e) {
      missing.push(node);
      continue;
    }
    const lastHb = Number(e.data.lastHeartbeatAt);
    afterHb.push(e.at - lastHb);
    afterStop.push(e.at - stoppedAt.get(node)!);
    stopToHb.push(lastHb - stoppedAt.get(node)!);
  }
  // A stopped node without heartbeat_lost: what does the hub say about it now?
  const stuck: string[] = [];
  for (const node of missing) {
    const r = await fetchJson(`${hub.url}/api/v1/nodes/${node}`);
    const n = r.body as { lifecycle: string; lastHeartbeatAt: number | null };
    const silent = n.lastHeartbeatAt === null ? NaN : Date.now() - n.lastHeartbeatAt;
    stuck.push(`node ${node}: lifecycle "${n.lifecycle}", silent ${f0(silent)} ms`);
  }
  if (stuck.length) {
    log(`no heartbeat_lost for ${missing.length} stopped node(s): ${stuck.join("; ")}`);
  }
  const unexpected = [...byNode.keys()].filter((n) => !nodes.includes(n));
  if (unexpected.length) log(`note: nodes that went lost without being stopped: ${unexpected}`);
  return {
    stopped: nodes.length,
    detected: afterHb.length,
    afterLastHeartbeat: stats(afterHb),
    afterStop: stats(afterStop),
    stopToLastHeartbeat: stats(stopToHb),
    missing,
    stuck,
  };
}

interface LoadResult {
  tool: string;
  rps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuPercent: number;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p99: number; max: number };
}

async function runWrk(url: string, body: string, key: string, seconds: number): Promise<WrkJson> {
  const child = spawn("wrk", "wrk", [
    `-t${opt.wrkThreads}`,
    `-c${opt.wrkConnections}`,
    `-d${seconds}s`,
    "--timeout",
    "5s",
    "-s",
    `${ROOT}bench/heartbeat.lua`,
    url,
  ], { env: { HB_BODY: body, HB_KEY: key } }); // see heartbeat.lua
  const { m } = await child.line(/^WRKJSON (.*)$/, (seconds + 30) * 1000);
  await child.stop(5000);
  return JSON.parse(m[1]) as WrkJson;
}

/** Fallback load generator (no wrk): `connections` fetch loops for `seconds`, bounded. */
async function denoLoad(url: string, body: string, key: string, seconds: number) {
  const end = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opt.wrkConnections }, async () => {
    while (performance.now() < end && lat.length < 5_000_000) {
      const s = performance.now();
      try {
        const r = await fetch(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          signal: AbortSignal.timeout(5000),
        });
        await r.arrayBuffer();
        if (r.status < 200 || r.status > 299) non2xx++;
        lat.push(performance.now() - s);
      } catch {
        errors++;
      }
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.ceil(p / 100 * lat.length) - 1)];
  return {
    requests: lat.length,
    durationUs: wall * 1e6,
    errors: { connect: errors, read: 0, write: 0, status: non2xx, timeout: 0 },
    latencyUs: { p50: pct(50) * 1000, p99: pct(99) * 1000, max: lat[lat.length - 1] * 1000 },
  } satisfies WrkJson;
}

async function load(
  url: string,
  body: string,
  key: string,
  serverPid: number,
  clk: number,
  hasWrk: boolean,
  warmUp = true,
): Promise<LoadResult> {
  const run = (s: number) => hasWrk ? runWrk(url, body, key, s) : denoLoad(url, body, key, s);
  if (warmUp) await run(quick ? 1 : 2); // warm-up, not reported
  const c0 = cpuTicks(serverPid);
  const t0 = performance.now();
  const r = await run(opt.wrkSeconds);
  const cpu = ((cpuTicks(serverPid) - c0) / clk / ((performance.now() - t0) / 1000)) * 100;
  const e = r.errors;
  return {
    tool: hasWrk ? "wrk" : "deno-fetch",
    rps: r.requests / (r.durationUs / 1e6),
    requests: r.requests,
    non2xx: e.status,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    maxMs: r.latencyUs.max / 1000,
    serverCpuPercent: cpu,
  };
}

function heartbeatBody(): string {
  return heartbeatJson(7, { seq: 42, uptimeSeconds: 1234.5, mac: "b8:27:eb:00:00:07" });
}

// ---------------------------------------------------------------- main

function verdict(ok: boolean): string {
  return ok ? "PASS" : "FAIL";
}

/** Lost-latency verdict: ≤ target passes; a few ms of timer slack over it is shown as such. */
function lostVerdict(maxMs: number, targetMs: number): string {
  if (!Number.isFinite(maxMs)) return "FAIL";
  if (maxMs <= targetMs) return "PASS";
  if (maxMs <= targetMs + 50) return `PASS* (+${f0(maxMs - targetMs)} ms timer slack)`;
  return "FAIL";
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => "| " + r.map((c, i) => c.padEnd(w[i])).join(" | ") + " |";
  return [
    line(rows[0]),
    "|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|",
    ...rows.slice(1).map(line),
  ]
    .join("\n");
}

async function main(): Promise<number> {
  const m = await machine();
  log(
    `hub benchmark${quick ? " (--quick)" : ""}: ${m.nproc} cpus (${m.cpu}), ${m.memGiB} GiB, ` +
      `deno ${m.deno}, CLK_TCK ${m.clkTck}, load generator ${
        m.wrk ?? "deno fetch (wrk not found)"
      }`,
  );
  const dataDir = await Deno.makeTempDir({ prefix: "hub-bench-" });
  tempDirs.add(dataDir);
  let hub: Hub | undefined;
  let agents: Child | undefined;
  try {
    // --- start the hub; idle baseline
    hub = await startHub(dataDir);
    log(`hub pid ${hub.child.pid} at ${hub.url}`);
    const idle = await sampleCpu(hub.child.pid, null, quick ? 3 : 10, m.clkTck);
    log(`hub idle: ${f2(idle.hubCpuPercent)} % cpu, ${f1(idle.hubRssMiB.mean)} MiB`);

    // --- power on 1-60 via REST, then start 60 agents in a second process
    const p0 = Date.now();
    const power = await fetchJson(`${hub.url}/api/v1/power`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.token}`, "content-type": "application/json" },
      body: JSON.stringify({ state: "on", nodes: `1-${NODES}` }),
      timeoutMs: 120_000,
    });
    if (power.status !== 200) {
      throw new Error(`power on: HTTP ${power.status} ${JSON.stringify(power.body)}`);
    }
    log(`powered on 1-${NODES} in ${Date.now() - p0} ms`);
    agents = spawn("agents", Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      "bench/agents.ts",
      "--hub",
      hub.url,
      "--key",
      hub.key,
      "--nodes",
      String(NODES),
      "--interval-ms",
      String(HEARTBEAT_MS),
      "--max-seconds",
      String(opt.maxMinutes * 60),
    ], { stdin: true });
    await agents.line(/^\{"ready":60\}/, 60_000);
    const h = hub;
    await until(
      `${NODES} nodes running`,
      async () => (await runningCount(h)) === NODES ? true : undefined,
      30_000,
      250,
    );
    log(`${NODES} agents running (agents pid ${agents.pid}); settling 3 s`);
    await sleep(3000);

    // --- 2. CPU and memory with 60 agents heartbeating
    log(`sampling hub cpu/rss for ${opt.cpuSeconds} s`);
    const s = await sampleCpu(hub.child.pid, agents.pid, opt.cpuSeconds, m.clkTck);
    const cpu: CpuFigures = {
      seconds: s.wall,
      hubCpuPercent: s.hubCpuPercent,
      hubRssMiB: s.hubRssMiB,
      agentsCpuPercent: s.agentsCpuPercent,
      agentsRssMiB: s.agentsRssMiB,
      running: await runningCount(hub),
    };
    log(
      `hub ${f2(cpu.hubCpuPercent)} % of a core, rss mean ${f1(cpu.hubRssMiB.mean)} max ` +
        `${f1(cpu.hubRssMiB.max)} MiB; agents ${
          f2(cpu.agentsCpuPercent)
        } %; running ${cpu.running}`,
    );

    // --- 1. lost-detection latency
    log(`stopping ${opt.stops} agents, ${opt.stopGapMs} ms apart`);
    const lost = await lostPhase(hub, agents);
    log(`lost: ${lost.detected}/${lost.stopped} detected`);

    // --- 3. ingest throughput: stop the agents first so they do not share the run
    await agents.send("quit");
    await agents.stop(10_000);
    agents = undefined;
    await sleep(LOST_AFTER_MS + 1000); // let the remaining nodes go lost before the load run
    const body = heartbeatBody();
    const hbUrl = `${hub.url}/api/v1/agent/heartbeat`;
    // Node 7's own key (the heartbeat is node 7's), as an agent sends it.
    const own = await fetchJson(`${hub.url}/api/v1/nodes/7/agent-key`, {
      headers: { authorization: `Bearer ${hub.token}` },
    });
    const key7 = (own.body as { key?: string } | null)?.key;
    if (own.status !== 200 || !key7) {
      throw new Error(`node 7's agent key: HTTP ${own.status} ${JSON.stringify(own.body)}`);
    }
    const probe = await fetchJson(hbUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${key7}`, "content-type": "application/json" },
      body,
    });
    if (probe.status !== 200) {
      throw new Error(`heartbeat probe: HTTP ${probe.status} ${JSON.stringify(probe.body)}`);
    }
    const hasWrk = m.wrk !== null;
    // Hub (A) and bare server (B) side by side, runs interleaved A B, B A, A B, … so that load
    // from outside (other work on a shared machine) hits both alike; the figure is the median
    // of the per-pair ratios, with their spread.
    const bare = spawn("bare", Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      "bench/bare_server.ts",
      "--max-seconds",
      String(opt.maxMinutes * 60),
    ], { stdin: true });
    const hubRuns: LoadResult[] = [];
    const bareRuns: LoadResult[] = [];
    try {
      const { m: pm } = await bare.line(/^\{"port":([0-9]+)\}/, 30_000);
      const bareUrl = `http://${HOST}:${pm[1]}/api/v1/agent/heartbeat`;
      log(
        `load: ${hasWrk ? "wrk" : "deno fetch"} -t${opt.wrkThreads} -c${opt.wrkConnections} ` +
          `-d${opt.wrkSeconds}s, ${opt.pairs} pairs hub/bare (pid ${hub.child.pid}/${bare.pid}), ` +
          `interleaved`,
      );
      const h = hub;
      const runHub = (warm: boolean) =>
        load(hbUrl, body, key7, h.child.pid, m.clkTck, hasWrk, warm);
      const runBare = (warm: boolean) =>
        load(bareUrl, body, key7, bare.pid, m.clkTck, hasWrk, warm);
      for (let i = 0; i < opt.pairs; i++) {
        const first = i === 0; // the first run of each target has a warm-up
        if (i % 2 === 0) {
          hubRuns.push(await runHub(first));
          bareRuns.push(await runBare(first));
        } else {
          bareRuns.push(await runBare(false));
          hubRuns.push(await runHub(false));
        }
        log(
          `pair ${i + 1}: hub ${f0(hubRuns[i].rps)} req/s, bare ${f0(bareRuns[i].rps)} req/s, ` +
            `ratio ${f1((hubRuns[i].rps / bareRuns[i].rps) * 100)} % (load ${loadavg()})`,
        );
      }
    } finally {
      await bare.stop(5000);
    }
    const ratios = hubRuns.map((h, i) => h.rps / bareRuns[i].rps).sort((a, b) => a - b);
    const ratio = quantile(ratios, 0.5);
    const spread = {
      min: ratios[0],
      q1: quantile(ratios, 0.25),
      q3: quantile(ratios, 0.75),
      max: ratios[ratios.length - 1],
    };
    const medianRun = (runs: LoadResult[]) =>
      [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)];
    const hubLoad = {
      ...medianRun(hubRuns),
      requests: hubRuns.reduce((s, r) => s + r.requests, 0),
      non2xx: hubRuns.reduce((s, r) => s + r.non2xx, 0),
      socketErrors: hubRuns.reduce((s, r) => s + r.socketErrors, 0),
    };
    const bareLoad = medianRun(bareRuns);

    // --- summary
    const L = lost.afterLastHeartbeat;
    const S = lost.afterStop;
    const tool = hasWrk
      ? `wrk -t${opt.wrkThreads} -c${opt.wrkConnections} -d${opt.wrkSeconds}s`
      : `deno fetch x${opt.wrkConnections}, ${opt.wrkSeconds}s (wrk missing)`;
    console.log("\n== hub benchmark summary ==");
    console.log(
      `machine: ${m.nproc} cpus, ${m.cpu}, ${m.memGiB} GiB RAM; deno ${m.deno}; ` +
        `${tool}${quick ? "; --quick" : ""}`,
    );
    console.log(table([
      ["measure", "result", "target", "verdict"],
      [
        `lost: event.at − lastHeartbeatAt (n=${L.n}/${lost.stopped})`,
        `min ${f0(L.min)} / mean ${f1(L.mean)} / max ${f0(L.max)} ms`,
        "≤ 3000 ms",
        lost.missing.length ? `FAIL (missing ${lost.missing})` : lostVerdict(L.max, LOST_AFTER_MS),
      ],
      [
        "lost: event.at − agent stopped",
        `min ${f0(S.min)} / mean ${f1(S.mean)} / max ${f0(S.max)} ms`,
        "≤ 3000 ms",
        lost.missing.length ? "FAIL" : lostVerdict(S.max, LOST_AFTER_MS),
      ],
      [
        `hub CPU, ${NODES} agents @ 1 s (${f0(cpu.seconds)} s)`,
        `${f2(cpu.hubCpuPercent)} % of one core (idle ${f2(idle.hubCpuPercent)} %)`,
        "info",
        "—",
      ],
      [
        "hub RSS (VmRSS)",
        `mean ${f1(cpu.hubRssMiB.mean)} / max ${f1(cpu.hubRssMiB.max)} MiB (idle ${
          f1(idle.hubRssMiB.mean)
        })`,
        "info",
        "—",
      ],
      [
        `agents process (${NODES} agents) CPU`,
        `${f2(cpu.agentsCpuPercent)} % of one core, RSS ${f1(cpu.agentsRssMiB.mean)} MiB`,
        "info",
        "—",
      ],
      [
        "ingest: hub POST /agent/heartbeat (median run)",
        `${f0(hubLoad.rps)} req/s, p50 ${f2(hubLoad.p50Ms)} / p99 ${f2(hubLoad.p99Ms)} ms, ` +
        `hub CPU ${f0(hubLoad.serverCpuPercent)} %`,
        "",
        "",
      ],
      [
        "ingest: bare Deno.serve + JSON parse (median run)",
        `${f0(bareLoad.rps)} req/s, p50 ${f2(bareLoad.p50Ms)} / p99 ${f2(bareLoad.p99Ms)} ms, ` +
        `CPU ${f0(bareLoad.serverCpuPercent)} %`,
        "",
        "",
      ],
      [
        `ingest: hub / bare, median of ${ratios.length} interleaved pairs`,
        `${f1(ratio * 100)} % (IQR ${f1(spread.q1 * 100)}–${f1(spread.q3 * 100)}, ` +
        `min–max ${f1(spread.min * 100)}–${f1(spread.max * 100)})`,
        "≥ 60 %",
        verdict(ratio >= 0.6),
      ],
      [
        "ingest: hub answers",
        `${hubLoad.requests} requests, ${hubLoad.non2xx} non-2xx, ${hubLoad.socketErrors} socket errors`,
        "0 non-2xx",
        verdict(hubLoad.non2xx === 0 && hubLoad.socketErrors === 0),
      ],
    ]));
    console.log(
      `(last heartbeat before stop: min ${f0(lost.stopToLastHeartbeat.min)} / mean ` +
        `${f1(lost.stopToLastHeartbeat.mean)} / max ${
          f0(lost.stopToLastHeartbeat.max)
        } ms relative ` +
        `to the stop; the ${NODES - lost.stopped} other agents kept beating during the stops)`,
    );
    if (lost.stuck.length) {
      console.log(`stopped nodes never reported lost: ${lost.stuck.join("; ")}`);
    }
    console.log(
      "JSON " +
        JSON.stringify({
          machine: m,
          options: { ...opt, quick },
          idle,
          cpu,
          lost,
          hubLoad,
          bareLoad,
          ratio,
          ratios,
          spread,
          hubRuns,
          bareRuns,
        }),
    );
    return 0;
  } finally {
    if (agents) await agents.stop(5000);
    if (hub) {
      hub.child.proc.kill("SIGTERM");
      await Promise.race([hub.child.status, sleep(5000)]);
    }
    for (const c of children) await c.stop(1000);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    tempDirs.delete(dataDir);
  }
}

if (import.meta.main) {
  // Watchdog: whatever happens, the run ends after --max-minutes.
  const abandon = (code: number) => {
    killAllNow();
    for (const d of tempDirs) {
      try {
        Deno.removeSync(d, { recursive: true });
      } catch { /* best effort */ }
    }
    Deno.exit(code);
  };
  const watchdog = setTimeout(() => {
    console.error(`hub benchmark: watchdog after ${opt.maxMinutes} min; killing children`);
    abandon(4);
  }, opt.maxMinutes * 60_000);
  Deno.unrefTimer(watchdog);
  const onSignal = () => abandon(130);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    console.error(`hub benchmark failed: ${e instanceof Error ? e.stack : e}`);
  }
  Deno.exit(code);
}
