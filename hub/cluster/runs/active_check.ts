/**
 * The active test (`activetest`): power nodes on and wait for each agent's first
 * heartbeat since power-on; report which came up and how long each took. The watcher
 * that waits for nodes to reach `running` is shared with the bootstrap.
 */
import type { Clock } from "../../../shared/clock.ts";
import type { ClusterEvent } from "../../../shared/schemas.ts";
import type { EventLog } from "../../events/event_log.ts";
import { type JobHandle, throwIfCancelled } from "../../jobs/job_runner.ts";
import type { NodePowerResult } from "../power_sequencer.ts";

/** Watches nodes until each reaches `running`. */
export interface RunningWatch {
  /** Hub time each node was first seen running. */
  readonly upAt: ReadonlyMap<number, number>;
  /** Resolves when all are up, at `deadline` (hub time) or when `signal` aborts. */
  until(deadline: number, signal?: AbortSignal): Promise<void>;
  stop(): void;
}

/**
 * Starts watching `nodes` (subscribe first, then power on, so no transition is missed).
 * Nodes for which `isRunning` is already true count as up at once.
 */
export function watchRunning(
  nodes: readonly number[],
  deps: { events: EventLog; clock: Clock; isRunning: (node: number) => boolean },
  onUp: (node: number, count: number) => void = () => {},
): RunningWatch {
  const { clock, events } = deps;
  const wanted = new Set(nodes);
  const upAt = new Map<number, number>();
  let resolveAll!: () => void;
  const allUp = new Promise<void>((r) => (resolveAll = r));
  const mark = (node: number) => {
    if (upAt.has(node)) return;
    upAt.set(node, clock.now());
    onUp(node, upAt.size);
    if (upAt.size === wanted.size) resolveAll();
  };
  const unsubscribe = events.subscribe((e: ClusterEvent) => {
    if (
      e.type === "lifecycle_changed" && e.node !== null && wanted.has(e.node) &&
      e.data.to === "running"
    ) {
      mark(e.node);
    }
  });
  for (const node of nodes) if (deps.isRunning(node)) mark(node);
  if (wanted.size === 0) resolveAll();
  return {
    upAt,
    async until(deadline, signal) {
      if (signal?.aborted) return;
      const ac = new AbortController();
      const stop = () => ac.abort();
      signal?.addEventListener("abort", stop, { once: true });
      await Promise.race([allUp, clock.sleepUntil(deadline, ac.signal)]);
      signal?.removeEventListener("abort", stop);
      ac.abort();
    },
    stop: unsubscribe,
  };
}

/** One node's outcome. */
export interface ActiveTestNode {
  node: number;
  up: boolean;
  /** It was running before the test: not switched, so not timed. */
  alreadyRunning: boolean;
  /** Power-on to first heartbeat, ms (null if it never came up or was already running). */
  bootMs: number | null;
  error?: string;
}

/** What `activetest` reports. */
export interface ActiveTestReport {
  pass: boolean;
  nodes: ActiveTestNode[];
  lines: string[];
  summary: string;
}

/** Builds the report (pure). */
export function activeTestReport(
  nodes: readonly number[],
  poweredAt: ReadonlyMap<number, number>,
  upAt: ReadonlyMap<number, number>,
  errors: ReadonlyMap<number, string>,
  timeoutMs: number,
): ActiveTestReport {
  const rows: ActiveTestNode[] = nodes.map((node) => {
    const up = upAt.get(node);
    const on = poweredAt.get(node);
    const error = errors.get(node) ??
      (up === undefined ? `no heartbeat within ${timeoutMs} ms` : undefined);
    return {
      node,
      up: up !== undefined,
      alreadyRunning: up !== undefined && on === undefined,
      bootMs: up === undefined || on === undefined ? null : Math.max(0, Math.round(up - on)),
      ...(error ? { error } : {}),
    };
  });
  const down = rows.filter((r) => !r.up);
  const times = rows.filter((r) => r.bootMs !== null).map((r) => r.bootMs as number);
  const lines = rows.map((r) =>
    `node ${String(r.node).padStart(2)}: ${
      r.alreadyRunning
        ? "already running (not switched, not timed)"
        : r.up
        ? `up in ${((r.bootMs ?? 0) / 1000).toFixed(1)} s`
        : `DOWN (${r.error})`
    }`
  );
  const before = rows.filter((r) => r.alreadyRunning).length;
  const summary = `${rows.length - down.length}/${rows.length} nodes up` +
    (before ? ` (${before} already running)` : "") +
    (times.length
      ? `, boot ${(Math.min(...times) / 1000).toFixed(1)}–${
        (Math.max(...times) / 1000).toFixed(1)
      } s`
      : "") +
    (down.length ? `; down: ${down.map((r) => r.node).join(",")}` : "");
  return { pass: down.length === 0, nodes: rows, lines, summary };
}

/** Powers `nodes` on (through `powerOn`) and waits up to `timeoutMs` for each to run. */
export async function runActiveTest(
  nodes: readonly number[],
  deps: {
    events: EventLog;
    clock: Clock;
    isRunning: (node: number) => boolean;
    powerOn: (nodes: number[], onResult: (r: NodePowerResult) => void) => Promise<unknown>;
  },
  timeoutMs: number,
  job?: JobHandle,
): Promise<ActiveTestReport> {
  const { clock } = deps;
  const start = clock.now();
  // The wait for heartbeats ends at the timeout at the latest: progress counts down to it.
  const watch = watchRunning(nodes, deps, (node, count) => {
    job?.progress(count, nodes.length, `node ${node} up`, start + timeoutMs);
  });
  job?.progress(watch.upAt.size, nodes.length, "waiting for heartbeats", start + timeoutMs);
  const poweredAt = new Map<number, number>();
  const errors = new Map<number, string>();
  try {
    const toPower = nodes.filter((n) => !watch.upAt.has(n));
    await deps.powerOn(toPower, (r) => {
      poweredAt.set(r.node, clock.now());
      if (!r.ok) errors.set(r.node, r.error ?? "power fault");
    });
    await watch.until(start + timeoutMs, job?.signal);
  } finally {
    watch.stop();
  }
  const report = activeTestReport(nodes, poweredAt, watch.upAt, errors, timeoutMs);
  throwIfCancelled(job?.signal, "the active test", report);
  return report;
}
