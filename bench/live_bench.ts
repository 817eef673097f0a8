/**
 * Benchmark (not a test): what the live view costs, for one checkout or several taken in one
 * sitting. For each `--checkout DIR` (default: this one), in turn:
 *
 * 1. starts that checkout's hub (`hub/main.ts --no-agents`, loopback, a temp data directory),
 *    powers nodes 1-N on and starts N real node agents in a second process (`bench/agents.ts`
 *    of this checkout, 1 s heartbeats), and waits until the hub shows all N `running`;
 * 2. samples the hub's CPU (`/proc/PID/stat`) over a fixed window with no dashboard open;
 * 3. opens one dashboard in headless Chromium and counts its requests (and the bytes it
 *    receives, event stream included, from the DevTools protocol) over a fixed window:
 *    requests per minute, and how many were `GET /api/v1/nodes`;
 * 4. opens two more dashboards and samples the hub's CPU again with 3 open;
 * 5. stops the agents and measures the ingest ratio as `bench:hub` does: wrk POSTs a valid
 *    heartbeat to the hub and to `bench/bare_server.ts` (a bare `Deno.serve` that parses the
 *    JSON), interleaved in pairs; the figure is the median of the per-pair ratios hub / bare.
 *
 * The agents, the bare server, wrk and Chromium are the same for every checkout; only the hub
 * differs. The load average is printed with every phase.
 *
 *   deno task bench:live [--checkout DIR]... [--rounds 1] [--quick] [--agents 60]
 *     [--dashboards 3] [--requests-seconds 60] [--cpu-seconds 60] [--pairs 5] [--wrk-seconds 5]
 *
 * With several checkouts and `--rounds N`, each round measures every checkout, the order
 * turned each round (A B, B A, …), so that drift in the machine's load hits all alike.
 *
 * Needs wrk (`apt-get install -y wrk`) and /usr/bin/chromium (scripts/install-chromium.sh).
 * Everything listens and connects on 127.0.0.1; child processes and temp directories are
 * removed when the run ends, fails or is interrupted, and a watchdog ends it after
 * `--max-minutes`.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { type Browser, launchChromium, type Page } from "../scripts/lib/chromium.ts";
import { heartbeatJson } from "./lib/heartbeat.ts";
import { CLK_TCK, cpuTicks, loadavg, machine } from "./lib/proc.ts";
import { type Child, Children, REPO_ROOT } from "./lib/process.ts";

const ROOT = REPO_ROOT;
const HOST = "127.0.0.1";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    checkout: { type: "string", multiple: true },
    quick: { type: "boolean", default: false },
    agents: { type: "string" },
    dashboards: { type: "string" },
    "requests-seconds": { type: "string" },
    "cpu-seconds": { type: "string" },
    pairs: { type: "string" },
    "wrk-seconds": { type: "string" },
    "max-minutes": { type: "string" },
    rounds: { type: "string" },
  },
});
const quick = flags.quick;
function num(text: string | undefined, dflt: number, min: number, max: number, name: string) {
  const n = text === undefined ? dflt : Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return n;
}
const opt = {
  agents: num(flags.agents, 60, 1, 60, "agents"),
  dashboards: num(flags.dashboards, 3, 1, 20, "dashboards"),
  requestsSeconds: num(flags["requests-seconds"], quick ? 20 : 60, 5, 600, "requests-seconds"),
  cpuSeconds: num(flags["cpu-seconds"], quick ? 15 : 60, 5, 600, "cpu-seconds"),
  pairs: num(flags.pairs, quick ? 2 : 5, 1, 50, "pairs"),
  wrkSeconds: num(flags["wrk-seconds"], quick ? 3 : 5, 1, 120, "wrk-seconds"),
  maxMinutes: num(flags["max-minutes"], 60, 1, 240, "max-minutes"),
  rounds: num(flags.rounds, 1, 1, 10, "rounds"),
};
const checkouts = (flags.checkout?.length ? flags.checkout : [ROOT]).map((d) => resolve(d));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const hex = (n: number) =>
  [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");

async function output(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** The share of one core `pid` used over `seconds` of wall time, in %. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return (cpuTicks(pid) - c0) / CLK_TCK / ((performance.now() - t0) / 1000) * 100;
}

// ---------------------------------------------------------------- child processes

const children = new Children();
const tempDirs = new Set<string>();

// ---------------------------------------------------------------- the hub under test

interface HubUnderTest {
  child: Child;
  url: string;
  token: string;
  key: string;
}

async function api(hub: HubUnderTest, method: string, path: string, body?: unknown) {
  const res = await fetch(`${hub.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${hub.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

async function startHub(checkout: string): Promise<HubUnderTest> {
  const dataDir = await Deno.makeTempDir({ prefix: "live-bench-" });
  tempDirs.add(dataDir);
  const token = hex(24);
  const key = hex(24);
  // Its stderr is kept, not shown: it warns once per bay that the agents share one key.
  const child = children.spawn("hub", Deno.execPath(), [
    "run",
    "--allow-all",
    "hub/main.ts",
    "--no-agents",
    ...["--host", HOST, "--port", "0", "--data-dir", dataDir],
    ...["--token", token, "--agent-key", key, "--heartbeat-ms", "1000"],
  ], { cwd: checkout, stderr: "lines" });
  const { m } = await child.line(/on http:\/\/[^\s]*:([0-9]+)/, 60_000);
  return { child, url: `http://${HOST}:${m[1]}`, token, key };
}

async function allRunning(hub: HubUnderTest, count: number): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const nodes = await api(hub, "GET", "/nodes") as { lifecycle: string }[];
    if (nodes.filter((n) => n.lifecycle === "running").length >= count) return;
    await sleep(500);
  }
  throw new Error(`the hub did not show ${count} nodes running within 60 s`);
}

// ---------------------------------------------------------------- dashboards

interface Dashboard {
  page: Page;
  /** Requests since `reset`, by path. */
  requests: Map<string, number>;
  /** Bytes received since `reset` (responses and the event stream). */
  bytes: number;
}

async function openDashboard(browser: Browser, hub: HubUnderTest): Promise<Dashboard> {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  const d: Dashboard = { page, requests: new Map(), bytes: 0 };
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    d.requests.set(path, (d.requests.get(path) ?? 0) + 1);
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.dataReceived", (e) => d.bytes += e.dataLength);
  await page.goto(`${hub.url}/`);
  await page.waitForSelector('body[data-loaded="true"]');
  return d;
}

// ---------------------------------------------------------------- ingest ratio

/** Requests per second wrk gets from `url` (bench/heartbeat.lua) over `seconds`. */
async function wrkRps(url: string, key: string, seconds: number): Promise<number> {
  const body = heartbeatJson(7, { seq: 42, uptimeSeconds: 1234.5, mac: "b8:27:eb:00:00:07" });
  const wrk = children.spawn("wrk", "wrk", [
    ...["-t2", "-c32", `-d${seconds}s`, "--timeout", "5s"],
    ...["-s", `${ROOT}bench/heartbeat.lua`, url],
  ], { env: { HB_BODY: body, HB_KEY: key } });
  const { m } = await wrk.line(/^WRKJSON (.*)$/, (seconds + 30) * 1000);
  await wrk.stop(1000);
  const r = JSON.parse(m[1]);
  if (r.errors.status > 0) throw new Error(`${url}: ${r.errors.status} non-2xx answers`);
  return r.requests / (r.durationUs / 1e6);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Node `node`'s own agent key (the heartbeat wrk sends is node 7's, as an agent sends it). */
async function agentKey(hub: HubUnderTest, node: number): Promise<string> {
  return (await api(hub, "GET", `/nodes/${node}/agent-key`) as { key: string }).key;
}

async function ingestRatio(hub: HubUnderTest, key: string) {
  const bare = children.spawn(
    "bare",
    Deno.execPath(),
    ["run", "--allow-net", "bench/bare_server.ts"],
    { stdin: true },
  );
  try {
    const port = (await bare.line(/^\{"port":([0-9]+)\}/, 30_000)).m[1];
    const targets = {
      hub: `${hub.url}/api/v1/agent/heartbeat`,
      bare: `http://${HOST}:${port}/`,
    };
    await wrkRps(targets.hub, key, 2); // warm-up, not counted
    await wrkRps(targets.bare, key, 2);
    const ratios: number[] = [];
    const hubRps: number[] = [];
    for (let i = 0; i < opt.pairs; i++) {
      // Interleaved, the order turned each pair: outside load hits both alike.
      const order = i % 2 ? ["bare", "hub"] as const : ["hub", "bare"] as const;
      const rps: Record<string, number> = {};
      for (const t of order) rps[t] = await wrkRps(targets[t], key, opt.wrkSeconds);
      ratios.push(rps.hub / rps.bare);
      hubRps.push(rps.hub);
      log(
        `  pair ${i + 1}: hub ${rps.hub.toFixed(0)} / bare ${rps.bare.toFixed(0)} req/s = ${
          (rps.hub / rps.bare * 100).toFixed(1)
        } % (load ${loadavg()})`,
      );
    }
    return {
      ratioPercent: median(ratios) * 100,
      minPercent: Math.min(...ratios) * 100,
      maxPercent: Math.max(...ratios) * 100,
      hubRps: median(hubRps),
    };
  } finally {
    await bare.stop();
  }
}

// ---------------------------------------------------------------- one checkout

async function measure(checkout: string, browser: Browser) {
  const commit = await output("git", ["log", "-1", "--format=%h %s"], checkout);
  log(`${checkout} (${commit.slice(0, 70)})`);
  const hub = await startHub(checkout);
  const agents = children.spawn("agents", Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "bench/agents.ts",
    ...["--hub", hub.url, "--key", hub.key, "--nodes", String(opt.agents)],
  ], { stdin: true });
  const dashboards: Dashboard[] = [];
  try {
    await api(hub, "POST", "/power", { state: "on", nodes: `1-${opt.agents}` });
    await agents.line(/^\{"ready":/, 60_000);
    await allRunning(hub, opt.agents);
    await sleep(10_000); // start-up work (compiling, first reports) is not the steady state
    log(`  ${opt.agents} agents running; hub CPU, no dashboard (load ${loadavg()})`);
    const cpuIdle = await cpuPercent(hub.child.pid, opt.cpuSeconds);

    dashboards.push(await openDashboard(browser, hub));
    await sleep(3000); // the page's first reads are not what it costs per minute
    const first = dashboards[0];
    first.requests.clear();
    first.bytes = 0;
    log(`  counting one dashboard's requests for ${opt.requestsSeconds} s (load ${loadavg()})`);
    await sleep(opt.requestsSeconds * 1000);
    const perMinute = 60 / opt.requestsSeconds;
    const requests = [...first.requests.values()].reduce((a, b) => a + b, 0) * perMinute;
    const nodesRequests = (first.requests.get("/api/v1/nodes") ?? 0) * perMinute;
    const kib = first.bytes / 1024 * perMinute;

    while (dashboards.length < opt.dashboards) dashboards.push(await openDashboard(browser, hub));
    await sleep(3000);
    log(`  hub CPU, ${opt.dashboards} dashboards open (load ${loadavg()})`);
    const cpuDashboards = await cpuPercent(hub.child.pid, opt.cpuSeconds);
    for (const d of dashboards.splice(0)) await d.page.close();
    await agents.stop();

    await sleep(4000); // the silent nodes go lost before the load, as in bench:hub
    log(`  ingest ratio, ${opt.pairs} pairs of ${opt.wrkSeconds} s (load ${loadavg()})`);
    const ingest = await ingestRatio(hub, await agentKey(hub, 7));
    return { checkout, commit, requests, nodesRequests, kib, cpuIdle, cpuDashboards, ingest };
  } catch (e) {
    console.error(`the hub's last words:\n${hub.child.errLines.slice(-20).join("\n")}`);
    throw e;
  } finally {
    for (const d of dashboards) await d.page.close().catch(() => {});
    await agents.stop();
    await hub.child.stop(0);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const m = machine();
  log(
    `machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB.toFixed(1)} GiB, Deno ${m.deno}, ` +
      `load ${loadavg()}, ${new Date().toISOString()}`,
  );
  const browser = await launchChromium();
  const results = [];
  try {
    // Round by round, the order turned each round (A B, B A, …): drift hits all alike.
    for (let round = 0; round < opt.rounds; round++) {
      const order = round % 2 ? [...checkouts].reverse() : checkouts;
      for (const checkout of order) results.push(await measure(checkout, browser));
    }
  } finally {
    await browser.close();
  }
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(`\nload average at the end: ${loadavg()}`);
  console.log(
    "| checkout | dashboard requests/min (of them /nodes) | KiB/min into one dashboard | " +
      `hub CPU, ${opt.agents} agents | same, ${opt.dashboards} dashboards | ingest hub/bare ` +
      "(min–max) | hub req/s |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of results) {
    console.log(
      `| \`${r.commit.split(" ")[0]}\` | ${f(r.requests, 0)} (${f(r.nodesRequests, 0)}) | ` +
        `${f(r.kib, 0)} | ${f(r.cpuIdle)} % | ${f(r.cpuDashboards)} % | ` +
        `${f(r.ingest.ratioPercent)} % (${f(r.ingest.minPercent)}–${f(r.ingest.maxPercent)}) | ` +
        `${f(r.ingest.hubRps, 0)} |`,
    );
  }
  console.log(`JSON ${JSON.stringify({ opt, results })}`);
}

const watchdog = setTimeout(() => {
  console.error(`bench:live: still running after ${opt.maxMinutes} min; stopping`);
  children.killAllNow();
  Deno.exit(3);
}, opt.maxMinutes * 60_000);
Deno.addSignalListener("SIGINT", () => {
  children.killAllNow();
  for (const d of tempDirs) Deno.removeSync(d, { recursive: true });
  Deno.exit(130);
});
try {
  await main();
} finally {
  clearTimeout(watchdog);
  await children.stopAll();
  for (const d of tempDirs) await Deno.remove(d, { recursive: true }).catch(() => {});
}
Deno.exit(0);
