/**
 * Heartbeat benchmark (not a test): runs the agent's LED engine on a simulated line with the
 * REAL clock, and the vendor's shell loop (`echo 1 > value; sleep 0.10; echo 0 > value;
 * sleep 0.90`) on a sysfs-like temp file, side by side for `--seconds` (default 300). The
 * engine runs in a child process of its own so its CPU time is measured alone; the shell
 * loop's edges are observed with inotify (Deno.watchFs). Prints mean period, p50/p99/max
 * edge error against the ideal schedule, cumulative drift and CPU used.
 *
 *   deno task bench:heartbeat [--seconds 60] [--no-shell] [--lead-ms 0]
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { realClock } from "../shared/clock.ts";
import { SimulatedGpioLine } from "../shared/pins/simulated.ts";
import { LedEngine } from "../node-agent/mod.ts";
import { HEARTBEAT } from "../shared/led/patterns.ts";
import { edgeAt } from "../shared/led/schedule.ts";
import { type Edge, percentile, watchValue } from "./lib/edges.ts";
import { CLK_TCK, cpuTicksWithChildren, loadavg } from "./lib/proc.ts";

/**
 * The timer lead (see `LedEngineOptions.leadMs`): 0 as in the standalone agent (main.ts), or
 * `--lead-ms 2` for futex-and-spin edges (docs/agent.md#led-patterns-and-timing).
 */
let AGENT_LEAD_MS = 0;

/** What the engine worker reports. */
interface WorkerResult {
  start: number;
  edges: Edge[];
  cpuSeconds: number;
  seconds: number;
}

/** Summary figures of one run. */
export interface BenchFigures {
  edges: number;
  meanPeriodMs: number;
  p50ErrorMs: number;
  p99ErrorMs: number;
  maxErrorMs: number;
  driftMs: number;
  cpuSeconds: number;
  cpuPercent: number;
}

/** Figures from edges and their ideal times (paired by index). */
export function figures(
  edges: Edge[],
  ideal: number[],
  cpuSeconds: number,
  seconds: number,
): BenchFigures {
  const errors = edges.map((e, i) => e.at - ideal[i]);
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const rising = edges.filter((e) => e.value === 1).map((e) => e.at);
  const meanPeriodMs = rising.length > 1
    ? (rising[rising.length - 1] - rising[0]) / (rising.length - 1)
    : NaN;
  return {
    edges: edges.length,
    meanPeriodMs,
    p50ErrorMs: percentile(abs, 50),
    p99ErrorMs: percentile(abs, 99),
    maxErrorMs: abs[abs.length - 1] ?? NaN,
    driftMs: errors.length ? errors[errors.length - 1] - errors[0] : NaN,
    cpuSeconds,
    cpuPercent: (cpuSeconds / seconds) * 100,
  };
}

async function runWorker(seconds: number): Promise<void> {
  const line = new SimulatedGpioLine({ gpio: 21, direction: "out", clock: realClock });
  const engine = new LedEngine({ line, clock: realClock, model: "pi3b+", leadMs: AGENT_LEAD_MS });
  const cpu0 = process.cpuUsage();
  const start = realClock.now();
  engine.start();
  await realClock.sleep(seconds * 1000);
  await engine.stop();
  const cpu = process.cpuUsage(cpu0);
  const result: WorkerResult = {
    start,
    edges: line.edges,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    seconds,
  };
  console.log(JSON.stringify(result));
}

async function runEngineInChild(seconds: number): Promise<BenchFigures> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      import.meta.filename!,
      "--worker",
      "--seconds",
      String(seconds),
      "--lead-ms",
      String(AGENT_LEAD_MS),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`engine worker failed (exit ${out.code})`);
  const r: WorkerResult = JSON.parse(new TextDecoder().decode(out.stdout));
  // Edge 0 (the initial "on" at start) is the reference; the simulated line starts at 0 so
  // every scheduled edge is a level change and edge i is scheduled edge i.
  const ideal = r.edges.map((_, i) => edgeAt(HEARTBEAT, r.start, i).at);
  return figures(r.edges, ideal, r.cpuSeconds, r.seconds);
}

async function runShell(seconds: number): Promise<BenchFigures> {
  const dir = await Deno.makeTempDir({ prefix: "hb-bench-" });
  const value = `${dir}/value`;
  await Deno.writeTextFile(value, "0\n");
  // The file starts at 0: the first change seen is the first rising edge.
  const watch = watchValue(dir, value, "0");
  const script =
    `while true; do echo 1 > "${value}"; sleep 0.10; echo 0 > "${value}"; sleep 0.90; done`;
  const child = new Deno.Command("sh", { args: ["-c", script], stdout: "null" }).spawn();
  await realClock.sleep(seconds * 1000);
  const cpuSeconds = cpuTicksWithChildren(child.pid) / CLK_TCK;
  child.kill("SIGTERM");
  await child.status;
  await watch.stop();
  const edges = watch.edges;
  await Deno.remove(dir, { recursive: true });
  // The ideal schedule starts at the first observed rising edge: on at +0, off at +100.
  const t0 = edges[0]?.at ?? 0;
  const ideal = edges.map((_, i) => t0 + Math.floor(i / 2) * 1000 + (i % 2) * 100);
  return figures(edges, ideal, cpuSeconds, seconds);
}

function show(name: string, f: BenchFigures): void {
  const n = (x: number, d = 3) => x.toFixed(d);
  console.log(
    `${name.padEnd(12)} edges=${f.edges}  mean period=${n(f.meanPeriodMs, 4)} ms  ` +
      `|err| p50=${n(f.p50ErrorMs)} p99=${n(f.p99ErrorMs)} max=${n(f.maxErrorMs)} ms  ` +
      `drift=${n(f.driftMs)} ms  cpu=${n(f.cpuSeconds, 2)} s (${n(f.cpuPercent)} % of a core)`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "300" },
      worker: { type: "boolean", default: false },
      "no-shell": { type: "boolean", default: false },
      "lead-ms": { type: "string", default: "0" },
    },
  });
  AGENT_LEAD_MS = Number(values["lead-ms"]);
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, not ${values.seconds}`);
  if (values.worker) {
    await runWorker(seconds);
  } else {
    console.log(
      `heartbeat benchmark: ${seconds} s, ${Deno.build.target}, ${navigator.hardwareConcurrency} ` +
        `cpus, load average ${loadavg()}`,
    );
    const [engine, shell] = await Promise.all([
      runEngineInChild(seconds),
      values["no-shell"] ? Promise.resolve(undefined) : runShell(seconds),
    ]);
    show("agent", engine);
    if (shell) show("shell loop", shell);
    console.log(`load average at the end: ${loadavg()}`);
  }
}
