/**
 * The control-plane self test (`testall`), like the vendor's: every node switched on in
 * rapid sequence, then off in the same order, each rail read back; a report per node and
 * per bus. Nodes are left off, as the vendor's test leaves them.
 */
import { counted } from "../../../shared/plural.ts";
import type { Clock } from "../../../shared/clock.ts";
import { bayAt, type NodeMap } from "../../../shared/node_map.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import { type JobHandle, throwIfCancelled } from "../../jobs/job_runner.ts";
import type { NodePowerResult, PowerSequencer } from "../power_sequencer.ts";

/** Self-test timing. */
export interface SelfTestOptions {
  /** Gap between switching consecutive nodes, ms. */
  stepMs: number;
  /** Time all tested nodes stay on before switching off, ms. */
  holdMs: number;
}

/** Defaults close to the vendor's ~30 s test for 60 nodes. */
export const DEFAULT_SELF_TEST: SelfTestOptions = { stepMs: 200, holdMs: 2000 };

/** One node's self-test outcome. */
export interface SelfTestNode {
  node: number;
  bus: number;
  pass: boolean;
  on: { ok: boolean; ms: number; error?: string };
  off: { ok: boolean; ms: number; error?: string };
}

/** Per-bus tally. */
export interface SelfTestBus {
  bus: number;
  passed: number;
  failed: number[];
  /** Nodes of this bus a cancelled test never switched on (only when there are any). */
  untested?: number[];
}

/** What `testall` reports. */
export interface SelfTestReport {
  pass: boolean;
  nodes: SelfTestNode[];
  buses: SelfTestBus[];
  durationMs: number;
  /** The test was cancelled before every node had been switched on. */
  cancelled: boolean;
  /** Nodes it never switched on (cancelled); they have no verdict. */
  untested: number[];
  /** Readable report lines for the CLI. */
  lines: string[];
  summary: string;
}

function brief(r: NodePowerResult | undefined): { ok: boolean; ms: number; error?: string } {
  if (!r) return { ok: false, ms: 0, error: "not run" };
  return { ok: r.ok, ms: r.ms, ...(r.error ? { error: r.error } : {}) };
}

/**
 * Builds the report from per-node on/off results (pure). A node with no "on" result was never
 * switched on: after a cancel it is untested (no verdict), otherwise it failed.
 */
export function selfTestReport(
  map: NodeMap,
  nodes: readonly number[],
  on: ReadonlyMap<number, NodePowerResult>,
  off: ReadonlyMap<number, NodePowerResult>,
  durationMs: number,
  cancelled = false,
): SelfTestReport {
  const untestedSet = new Set(cancelled ? nodes.filter((n) => !on.has(n)) : []);
  const rows: SelfTestNode[] = nodes.map((node) => {
    const a = brief(on.get(node));
    const b = brief(off.get(node));
    return { node, bus: bayAt(map, node).bus, pass: a.ok && b.ok, on: a, off: b };
  });
  const tested = rows.filter((r) => !untestedSet.has(r.node));
  const busIds = [...new Set(rows.map((r) => r.bus))].sort((x, y) => x - y);
  const buses = busIds.map((bus) => {
    const mine = tested.filter((r) => r.bus === bus);
    const none = rows.filter((r) => r.bus === bus && untestedSet.has(r.node)).map((r) => r.node);
    return {
      bus,
      passed: mine.filter((r) => r.pass).length,
      failed: mine.filter((r) => !r.pass).map((r) => r.node),
      ...(none.length ? { untested: none } : {}),
    };
  });
  const failed = tested.filter((r) => !r.pass);
  const untested = [...untestedSet];
  const lines = [
    ...buses.map((b) => {
      const of = b.passed + b.failed.length;
      const head = `bus ${String(b.bus).padStart(2)}: `;
      const none = b.untested ? `untested ${formatNodeSet(b.untested)}` : "";
      if (of === 0) return `${head}${none}`;
      return `${head}${b.passed}/${of} pass` +
        (b.failed.length ? `  FAIL ${b.failed.join(",")}` : "") + (none ? `  ${none}` : "");
    }),
    ...failed.map((r) => `node ${r.node}: ${r.on.error ?? r.off.error ?? "failed"}`),
  ];
  const secs = `${(durationMs / 1000).toFixed(1)} s`;
  const failedText = failed.length
    ? `${failed.length} failed (${failed.map((r) => r.node).join(",")})`
    : "all passed";
  const summary = cancelled
    ? `self test cancelled: ${tested.length} of ${rows.length} nodes tested, ${failedText}` +
      (untested.length ? `; untested: ${formatNodeSet(untested)}` : "")
    : failed.length === 0
    ? `self test passed: ${counted(rows.length, "node")} on ${
      counted(buses.length, "bus", "buses")
    } in ${secs}`
    : `self test FAILED: ${failed.length} of ${rows.length} nodes (${
      failed.map((r) => r.node).join(",")
    })`;
  return {
    pass: !cancelled && failed.length === 0,
    nodes: rows,
    buses,
    durationMs,
    cancelled,
    untested,
    lines,
    summary,
  };
}

/** Runs the self test over `nodes` in order. */
export async function runSelfTest(
  nodes: readonly number[],
  deps: { map: NodeMap; sequencer: PowerSequencer; clock: Clock },
  opts: SelfTestOptions,
  job?: JobHandle,
): Promise<SelfTestReport> {
  const { clock, sequencer } = deps;
  const started = clock.now();
  const total = nodes.length * 2;
  let done = 0;
  const signal = job?.signal;
  const phase = async (state: "on" | "off", into: Map<number, NodePowerResult>) => {
    // One node at a time, in order, at most one per step: the vendor's "rapid sequence".
    // Cancelled: the "on" phase stops where it is; the "off" phase always runs, at full speed.
    const t0 = clock.now();
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (state === "on" && signal?.aborted) break;
      if (i > 0 && !signal?.aborted) await clock.sleepUntil(t0 + i * opts.stepMs, signal);
      const r = await sequencer.apply(node, state, true);
      into.set(node, r);
      job?.progress(++done, total, `node ${node} ${state} ${r.ok ? "ok" : "FAIL"}`);
    }
  };
  const on = new Map<number, NodePowerResult>();
  const off = new Map<number, NodePowerResult>();
  await phase("on", on);
  await clock.sleep(opts.holdMs, signal);
  await phase("off", off);
  const cancelled = signal?.aborted === true;
  const report = selfTestReport(deps.map, nodes, on, off, clock.now() - started, cancelled);
  throwIfCancelled(
    signal,
    "the self test",
    report,
    `: ${report.nodes.length - report.untested.length} of ${report.nodes.length} nodes tested` +
      (report.untested.length ? `, untested: ${formatNodeSet(report.untested)}` : ""),
  );
  return report;
}
