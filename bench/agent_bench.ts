/**
 * Agent footprint benchmark (not a test): what the agent costs a node. Side by side, in one
 * run, for `--seconds` (default 60):
 *
 *  - the Deno agent AS INSTALLED: scripts/agent/install-agent.sh --mode bundle into a temp
 *    root (with this machine's deno), started through the wrapper it wrote (so with its exact
 *    flags), `--sim` with `--sim-edge-log`, 1 s heartbeats;
 *  - the sh agent (Pi Zero W), installed with --mode sh, on a sysfs-like temp tree, curl;
 *  - the vendor's LED loop (`echo 1 > value; sleep 0.10; echo 0 > value; sleep 0.90`);
 *  - both agents again with the kernel LED engine (`--led-engine kernel`) on a bay LED class
 *    directory like the kernel's after the unit's ExecStartPre (`[pattern]` selected), the Deno
 *    agent on a Pi 3B+'s fixture root, the sh agent under busybox's ash as installed.
 *
 * For the kernel engine the LED's edges are the kernel's; what the agent does is restart the
 * pattern once a second on the wall clock's grid, so its "edges" are those restarts (writes to
 * `repeat`, by inotify) against the grid. Heartbeats are counted by the bench hub, and for the
 * forking programs the forks between heartbeats are the forks less those of the heartbeats
 * (curl; the agent engine's also date and mv).
 *
 * The agents report to a minimal hub on 127.0.0.1 (bench/bare_server.ts: parses each body,
 * answers a fixed HeartbeatReply). The sh agent and the vendor loop run in PID namespaces of
 * their own (`unshare --pid --fork`) so that their forks can be counted (the namespace's last
 * PID). Printed per program: CPU (utime + stime + cutime + cstime of the process tree, from
 * /proc/PID/stat), RSS (VmRSS of the tree, mean and max of 1 s samples; for the Deno agent
 * also split into anonymous and file-backed at the end), wake-ups (voluntary context switches
 * of every thread, /proc/PID/task/TID/status; for the forking programs, forks per second
 * instead) and the LED edge error against each
 * program's ideal timeline (Deno agent: its simulated line's edge log; the others: inotify on
 * the value file).
 *
 *   deno task bench:agent [--seconds 60]
 */
import { parseArgs } from "node:util";
import { HEARTBEAT } from "../shared/led/patterns.ts";
import { type Edge, percentile, watchEdges, watchValue } from "./lib/edges.ts";
import { Child } from "./lib/process.ts";
import { ledClassDir, memoryTempDir } from "../tests/support/led_class_dir.ts";
import {
  CLK_TCK,
  contextSwitches,
  loadavg,
  nsLastPid,
  processTree,
  statusKiB,
  switchesBetween,
  treeCpuTicks,
  treeRssKiB,
} from "./lib/proc.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Summary of one program. */
interface Figures {
  name: string;
  cpuSeconds: number;
  cpuPercent: number;
  rssMeanMiB: number;
  rssMaxMiB: number;
  /** The main process's VmRSS split at the end: anonymous and file-backed (the binary), MiB. */
  rssAnonMiB: number;
  rssFileMiB: number;
  /** Context switches per second (all threads), for the Deno agent. */
  wakeupsPerSecond?: number;
  /** Forks per second, for the programs in a PID namespace. */
  forksPerSecond?: number;
  edges: number;
  p50: number;
  p99: number;
  max: number;
  heartbeats?: number;
  /** Forks per second not made by a heartbeat (forking programs that report). */
  forksBetween?: number;
}

/** A `kB` field of /proc/PID/status in KiB; 0 when the process or the line is gone. */
function statusKiBOr0(pid: number, field: string): number {
  try {
    return statusKiB(pid, field) || 0;
  } catch {
    return 0;
  }
}

// ------------------------------------------------------------------ edges

/**
 * Edge error against a 1000 ms timeline anchored at the first rising edge: rising edges due
 * at k × 1000 ms, falling ones at k × 1000 + `highMs`. Each edge is paired with the nearest
 * due time of its kind, so a skipped pulse does not shift every later edge.
 */
function edgeErrors(edges: Edge[], highMs: number): { p50: number; p99: number; max: number } {
  const first = edges.find((e) => e.value === 1);
  if (!first) return { p50: NaN, p99: NaN, max: NaN };
  const errs = edges.filter((e) => e.at >= first.at).map((e) => {
    const offset = e.value === 1 ? 0 : highMs;
    const k = Math.round((e.at - first.at - offset) / 1000);
    return Math.abs(e.at - (first.at + k * 1000 + offset));
  }).sort((a, b) => a - b);
  return { p50: percentile(errs, 50), p99: percentile(errs, 99), max: errs.at(-1) ?? NaN };
}

// ------------------------------------------------------------------ the programs

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr).slice(0, 500)}`);
  }
  return dec.decode(out.stdout);
}

interface Running {
  name: string;
  /** The process whose tree is measured. */
  pid: number;
  child: Deno.ChildProcess;
  /** In a PID namespace of its own (forks countable). */
  ns: boolean;
  edges(): Promise<Edge[]>;
  highMs: number;
  /** Its edges are restarts of a kernel pattern: errors against the epoch's 1 s grid. */
  grid?: boolean;
  /** The node it reports as (the bench hub counts its heartbeats). */
  node?: number;
  /** Forks each heartbeat makes (curl, and the agent engine's date and mv). */
  forksPerHeartbeat?: number;
  stop(): Promise<void>;
}

async function startBareHub(): Promise<{ url: string; child: Child }> {
  const child = new Child("bare_server", Deno.execPath(), [
    "run",
    "--allow-net",
    `${ROOT}bench/bare_server.ts`,
    "--max-seconds",
    "3600",
  ], { stdin: true });
  const { m } = await child.line(/^\{"port":([0-9]+)\}/, 30_000);
  return { url: `http://127.0.0.1:${m[1]}`, child };
}

/** Installs the agent into `root` as a user does (install-agent.sh with `mode`); returns `root`. */
async function installAgent(
  root: string,
  hub: string,
  keyFile: string,
  mode: string[],
): Promise<string> {
  await Deno.mkdir(root);
  await run("sh", [
    `${ROOT}scripts/agent/install-agent.sh`,
    ...["--root", root, ...mode, "--hub", hub, "--key-file", keyFile],
  ]);
  return root;
}

async function startDenoAgent(tmp: string, hub: string, keyFile: string): Promise<Running> {
  const root = await installAgent(`${tmp}/deno-root`, hub, keyFile, [
    "--mode",
    "bundle",
    "--deno-binary",
    Deno.execPath(),
  ]);
  // The installed wrapper, pointed at the temp root instead of /opt.
  const wrapper = (await Deno.readTextFile(`${root}/opt/cluster-agent/cluster-agent`))
    .replaceAll("/opt/cluster-agent/", `${root}/opt/cluster-agent/`);
  await Deno.writeTextFile(`${tmp}/deno-wrapper.sh`, wrapper);
  const edgeLog = `${tmp}/deno-edges.json`;
  const child = new Deno.Command("sh", {
    args: [
      `${tmp}/deno-wrapper.sh`,
      "--config",
      `${root}/etc/cluster-agent/agent.json`,
      "--key-file",
      keyFile,
      "--sim",
      "--model",
      "pi3b+",
      "--hostname",
      "node07",
      "--node",
      "7",
      "--sim-edge-log",
      edgeLog,
    ],
    env: { DENO_DIR: `${tmp}/deno-dir`, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  let log = "";
  const logged = (async () => {
    for await (const t of stderr) log += t;
  })();
  return {
    name: "Deno agent (installed), LED engine agent",
    pid: child.pid, // the wrapper execs deno: same PID
    child,
    ns: false,
    node: 7,
    highMs: HEARTBEAT.edges[1].offset,
    async edges() {
      const raw = JSON.parse(await Deno.readTextFile(edgeLog)) as Edge[];
      return raw;
    },
    async stop() {
      child.kill("SIGTERM");
      const s = await child.status;
      await logged;
      if (s.code !== 0) console.error(`Deno agent exited ${s.code}:\n${log}`);
    },
  };
}

/** A sysfs-like tree with GPIO 21 already exported at base 512 (gpio533). */
async function fakeSysfs(dir: string): Promise<string> {
  const gpio = `${dir}/class/gpio`;
  await Deno.mkdir(`${gpio}/gpiochip512`, { recursive: true });
  await Deno.writeTextFile(`${gpio}/gpiochip512/label`, "pinctrl-bcm2835\n");
  await Deno.writeTextFile(`${gpio}/gpiochip512/base`, "512\n");
  await Deno.mkdir(`${gpio}/gpio533`);
  await Deno.writeTextFile(`${gpio}/gpio533/direction`, "in\n");
  await Deno.writeTextFile(`${gpio}/gpio533/value`, "0\n");
  await Deno.writeTextFile(`${gpio}/export`, "");
  await Deno.writeTextFile(`${gpio}/unexport`, "");
  return `${gpio}/gpio533`;
}

async function startShAgent(tmp: string, hub: string, keyFile: string): Promise<Running> {
  const root = await installAgent(`${tmp}/sh-root`, hub, keyFile, ["--mode", "sh"]);
  const valueDir = await fakeSysfs(`${tmp}/sh-sys`);
  const watch = watchValue(valueDir, `${valueDir}/value`);
  const child = new Deno.Command("unshare", {
    args: [
      "--pid",
      "--fork",
      "--kill-child",
      "sh",
      `${root}/opt/cluster-agent/cluster-agent.sh`,
      "--hub",
      hub,
      "--key-file",
      keyFile,
      "--sysfs-root",
      `${tmp}/sh-sys`,
      "--model",
      "pi3b+",
      "--hostname",
      "node08",
      "--node",
      "8",
    ],
    env: { TMPDIR: tmp },
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    name: "sh agent (Zero W), LED engine agent",
    pid: child.pid,
    child,
    ns: true,
    node: 8,
    forksPerHeartbeat: 3,
    highMs: HEARTBEAT.edges[1].offset,
    edges: () => watch.stop().then(() => watch.edges),
    stop: () => stopShAgent(child),
  };
}

/** Stops a sh agent run under `unshare --pid`: SIGTERM to the agent itself (the namespace's
 * init, PID 1 inside), which cleans up; SIGKILL after 3 s. */
async function stopShAgent(child: Deno.ChildProcess): Promise<void> {
  const sh = processTree(child.pid)[1];
  if (sh) Deno.kill(sh, "SIGTERM");
  await Promise.race([child.status, sleep(3000)]);
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  await child.status;
}

/** Restarts of the kernel pattern: writes to `repeat` (inotify), as rising edges at their time. */
function watchRestarts(led: string) {
  return watchEdges(`${led}/repeat`, (ev, at, edges) => {
    // one `echo >` is two events (truncate, write): one restart
    if (ev.kind === "modify" && (edges.length === 0 || at - edges.at(-1)!.at > 20)) {
      edges.push({ at, value: 1 });
    }
  });
}

/** `sys`: where its bay LED class directory goes (in memory). */
async function startDenoKernelAgent(tmp: string, sys: string, keyFile: string): Promise<Running> {
  const led = await ledClassDir(`${sys}/dk-sys`);
  const watch = watchRestarts(led);
  const child = new Deno.Command("sh", {
    args: [
      `${tmp}/deno-wrapper.sh`, // the installed wrapper (startDenoAgent wrote it)
      "--config",
      `${tmp}/deno-root/etc/cluster-agent/agent.json`,
      "--key-file",
      keyFile,
      "--root",
      `${ROOT}tests/fixtures/pi/pi3b+`,
      "--node",
      "9",
      "--led-engine",
      "kernel",
      "--sysfs-root",
      `${sys}/dk-sys`,
    ],
    env: { DENO_DIR: `${tmp}/deno-dir`, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  return {
    name: "Deno agent (installed), LED engine kernel",
    pid: child.pid,
    child,
    ns: false,
    node: 9,
    grid: true,
    highMs: 0,
    async edges() {
      await watch.stop();
      return watch.edges;
    },
    async stop() {
      child.kill("SIGTERM");
      const s = await child.status;
      const log = await stderr;
      if (s.code !== 0) console.error(`Deno kernel agent exited ${s.code}:\n${log}`);
    },
  };
}

async function startShKernelAgent(
  tmp: string,
  sys: string,
  hub: string,
  keyFile: string,
): Promise<Running> {
  const led = await ledClassDir(`${sys}/sk-sys`);
  const watch = watchRestarts(led);
  // the installed wrapper's choice: busybox's ash (read -t naps) where there is one
  const shell = (await new Deno.Command("sh", { args: ["-c", "command -v busybox"] }).output())
      .success
    ? ["busybox", "sh"]
    : ["sh"];
  const child = new Deno.Command("unshare", {
    args: [
      "--pid",
      "--fork",
      "--kill-child",
      ...shell,
      `${tmp}/sh-root/opt/cluster-agent/cluster-agent.sh`,
      "--hub",
      hub,
      "--key-file",
      keyFile,
      "--sysfs-root",
      `${sys}/sk-sys`,
      "--model",
      "pi0w",
      "--hostname",
      "node17",
      "--node",
      "17",
      "--led-engine",
      "kernel",
    ],
    env: { TMPDIR: tmp },
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    name: `sh agent (Zero W, ${shell[0]}), LED engine kernel`,
    pid: child.pid,
    child,
    ns: true,
    node: 17,
    grid: true,
    // busybox: heartbeats over one kept-alive `busybox nc` connection (no fork each); dash: curl
    forksPerHeartbeat: shell[0] === "busybox" ? 0 : 1,
    highMs: 0,
    edges: () => watch.stop().then(() => watch.edges),
    stop: () => stopShAgent(child),
  };
}

/** Restarts against the epoch's whole seconds: |t − nearest k × 1000| (ms). */
function gridErrors(edges: Edge[]): { p50: number; p99: number; max: number } {
  const errs = edges.map((e) => Math.abs(e.at - Math.round(e.at / 1000) * 1000))
    .sort((a, b) => a - b);
  return { p50: percentile(errs, 50), p99: percentile(errs, 99), max: errs.at(-1) ?? NaN };
}

async function startVendorLoop(tmp: string): Promise<Running> {
  const dir = `${tmp}/vendor`;
  await Deno.mkdir(dir);
  const value = `${dir}/value`;
  await Deno.writeTextFile(value, "0\n");
  const watch = watchValue(dir, value);
  const script =
    `while true; do echo 1 > "${value}"; sleep 0.10; echo 0 > "${value}"; sleep 0.90; done`;
  const child = new Deno.Command("unshare", {
    args: ["--pid", "--fork", "--kill-child", "sh", "-c", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    name: "vendor LED loop",
    pid: child.pid,
    child,
    ns: true,
    highMs: 100,
    async edges() {
      await watch.stop();
      return watch.edges;
    },
    async stop() {
      child.kill("SIGKILL"); // --kill-child takes the loop with it
      await child.status;
    },
  };
}

// ------------------------------------------------------------------ main

async function measure(programs: Running[], seconds: number): Promise<Figures[]> {
  const t0 = programs.map((p) => treeCpuTicks(p.pid));
  const c0 = programs.map((p) => (p.ns ? undefined : contextSwitches(p.pid)));
  // unshare stays in the old namespace; its child is the new namespace's init.
  const inNs = (p: Running) => processTree(p.pid)[1];
  const f0 = await Promise.all(programs.map((p) => (p.ns ? nsLastPid(inNs(p)) : undefined)));
  const rss: number[][] = programs.map(() => []);
  const start = performance.now();
  for (let s = 0; s < seconds; s++) {
    await sleep(start + (s + 1) * 1000 - performance.now());
    programs.forEach((p, i) => rss[i].push(treeRssKiB(p.pid) / 1024));
  }
  const elapsed = (performance.now() - start) / 1000;
  const t1 = programs.map((p) => treeCpuTicks(p.pid));
  const c1 = programs.map((p) => (p.ns ? undefined : contextSwitches(p.pid)));
  const f1 = await Promise.all(programs.map((p) => (p.ns ? nsLastPid(inNs(p)) : undefined)));
  return programs.map((p, i) => {
    const cpuSeconds = (t1[i] - t0[i]) / CLK_TCK;
    const forks = f0[i] !== undefined && f1[i] !== undefined ? f1[i]! - f0[i]! - 1 : undefined;
    return {
      name: p.name,
      rssAnonMiB: statusKiBOr0(p.pid, "RssAnon") / 1024,
      rssFileMiB: statusKiBOr0(p.pid, "RssFile") / 1024,
      cpuSeconds,
      cpuPercent: (cpuSeconds / elapsed) * 100,
      rssMeanMiB: rss[i].reduce((a, b) => a + b, 0) / rss[i].length,
      rssMaxMiB: Math.max(...rss[i]),
      wakeupsPerSecond: c0[i] && c1[i] ? switchesBetween(c0[i]!, c1[i]!) / elapsed : undefined,
      forksPerSecond: forks === undefined ? undefined : forks / elapsed,
      edges: 0,
      p50: NaN,
      p99: NaN,
      max: NaN,
    };
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seconds: { type: "string", default: "60" } },
  });
  const seconds = Number(values.seconds);
  if (!(seconds >= 5 && seconds <= 3600)) throw new Error("--seconds must be 5 to 3600");
  const tmp = await Deno.makeTempDir({ prefix: "agent-bench-" });
  // the bay LED class directories in memory, as sysfs is (see memoryTempDir)
  const sys = await memoryTempDir("agent-bench-sys-");
  const keyFile = `${tmp}/key`;
  await Deno.writeTextFile(keyFile, "bench-agent-key\n");
  const programs: Running[] = [];
  const hub = await startBareHub();
  let hits = 0;
  try {
    console.log(
      `agent footprint benchmark: ${seconds} s, ${navigator.hardwareConcurrency} cpus, ` +
        `Deno ${Deno.version.deno}, load average ${loadavg()}`,
    );
    programs.push(await startDenoAgent(tmp, hub.url, keyFile));
    programs.push(await startShAgent(tmp, hub.url, keyFile));
    programs.push(await startVendorLoop(tmp));
    programs.push(await startDenoKernelAgent(tmp, sys, keyFile));
    programs.push(await startShKernelAgent(tmp, sys, hub.url, keyFile));
    await sleep(5000); // start-up (module load, first heartbeat) is not what a node pays daily
    const counts0 = await (await fetch(`${hub.url}/counts`)).json();
    const figures = await measure(programs, seconds);
    const counts1 = await (await fetch(`${hub.url}/counts`)).json();
    for (const [i, p] of programs.entries()) {
      if (p.node === undefined) continue;
      const beats = (counts1[p.node] ?? 0) - (counts0[p.node] ?? 0);
      figures[i].heartbeats = beats;
      const f = figures[i].forksPerSecond;
      if (f !== undefined && p.forksPerHeartbeat !== undefined) {
        figures[i].forksBetween = Math.max(0, f - (beats * p.forksPerHeartbeat) / seconds);
      }
    }
    const end = performance.timeOrigin + performance.now(); // edges after this are the stops'
    console.log(`load average at the end: ${loadavg()}`);
    for (const [i, p] of programs.entries()) {
      await p.stop();
      const edges = (await p.edges()).filter((e) => e.at <= end);
      const e = p.grid ? gridErrors(edges) : edgeErrors(edges, p.highMs);
      Object.assign(figures[i], { edges: edges.length, ...e });
    }
    hits = programs.length;
    const n = (
      x: number | undefined,
      d: number,
    ) => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d));
    const vendor = figures.find((f) => f.name.startsWith("vendor"))!;
    console.log(
      "\n| program | CPU (% of a core) | vs vendor loop | RSS mean / max (MiB) | anon / file (MiB) | wake-ups/s | forks/s | forks/s between heartbeats | heartbeats | edges (kernel: restarts) | edge error p50 / p99 / max (ms; kernel: restarts vs the 1 s grid) |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const f of figures) {
      console.log(
        `| ${f.name} | ${n(f.cpuPercent, 3)} (${n(f.cpuSeconds, 2)} s) | ${
          n(f.cpuPercent / vendor.cpuPercent, 2)
        } | ${n(f.rssMeanMiB, 1)} / ${n(f.rssMaxMiB, 1)} | ${
          f.forksPerSecond === undefined ? `${n(f.rssAnonMiB, 1)} / ${n(f.rssFileMiB, 1)}` : "—"
        } | ${n(f.wakeupsPerSecond, 1)} | ${n(f.forksPerSecond, 2)} | ${n(f.forksBetween, 2)} | ${
          f.heartbeats ?? "—"
        } | ${f.edges} | ${n(f.p50, 2)} / ${n(f.p99, 2)} / ${n(f.max, 2)} |`,
      );
    }
    console.log(`\nJSON ${JSON.stringify({ seconds, loadavg: loadavg(), figures })}`);
  } finally {
    for (const p of programs.slice(hits)) await p.stop().catch(() => {});
    hub.child.kill("SIGTERM");
    await hub.child.status;
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(sys, { recursive: true });
  }
}
