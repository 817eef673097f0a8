/**
 * The staged bootstrap as pure data and transitions: fabric up → control plane up with all
 * nodes off → self test → boot every enabled node → wait for heartbeats → running.
 * Defaults follow the vendor's timeline (all off at 30–40 s, self test ~30 s, running ~2:30).
 */
import type { SelfTestOptions } from "./self_check.ts";

/** Bootstrap stages in order; `running`, `degraded` and `failed` are final. */
export type BootstrapStage =
  | "fabric"
  | "control_plane"
  | "self_test"
  | "boot"
  | "wait_heartbeats"
  | "running"
  | "degraded"
  | "failed";

/** The working stages, in order. */
export const WORKING_STAGES: readonly BootstrapStage[] = [
  "fabric",
  "control_plane",
  "self_test",
  "boot",
  "wait_heartbeats",
];

/** Bootstrap timings, ms. */
export interface BootstrapTimings {
  /** Switch (fabric) boot time before the control plane acts. */
  fabricMs: number;
  /** Pause after all nodes are off before the self test. */
  controlPlaneMs: number;
  selfTest: SelfTestOptions;
  /** Pause after the self test before booting nodes. */
  bootGapMs: number;
  /** How long to wait for every booted node's first heartbeat. */
  heartbeatTimeoutMs: number;
}

/** The vendor's timeline. */
export const VENDOR_TIMINGS: BootstrapTimings = {
  fabricMs: 30_000,
  controlPlaneMs: 10_000,
  selfTest: { stepMs: 200, holdMs: 2_000 },
  bootGapMs: 10_000,
  heartbeatTimeoutMs: 90_000,
};

/** Scales every timing by `factor` (e.g. 0.05 for a compressed-time demo). */
export function scaleTimings(t: BootstrapTimings, factor: number): BootstrapTimings {
  const s = (ms: number) => Math.max(1, Math.round(ms * factor));
  return {
    fabricMs: s(t.fabricMs),
    controlPlaneMs: s(t.controlPlaneMs),
    selfTest: { stepMs: s(t.selfTest.stepMs), holdMs: s(t.selfTest.holdMs) },
    bootGapMs: s(t.bootGapMs),
    heartbeatTimeoutMs: s(t.heartbeatTimeoutMs),
  };
}

/** Where a bootstrap stands; stored so that a restart can say where it stopped. */
export interface BootstrapState {
  stage: BootstrapStage;
  jobId: string | null;
  startedAt: number;
  /** Nodes the bootstrap boots (enabled bays). */
  nodes: number[];
  /** Nodes switched off in the control-plane stage (absent in states stored before it existed). */
  switchedOff?: number[];
  /** Nodes that failed the self test (not booted). */
  failedSelfTest: number[];
  /** Nodes booted but silent at the end. */
  silent: number[];
  /** When the current stage began. */
  stageAt: number;
}

/** Which bays a bootstrap touches: its set, and with `othersOff` every other bay's switch-off. */
export interface BootstrapScope {
  /** Nodes it self-tests and boots. */
  nodes: number[];
  /** Nodes switched off in the control-plane stage. */
  switchedOff: number[];
  /** Bays it never switches. */
  untouched: number[];
  /** Requested but quarantined: left out, and untouched. */
  skippedQuarantined: number[];
  othersOff: boolean;
}

/**
 * The scope of a bootstrap of `run` (the requested set less `skipped`, its quarantined nodes) on
 * a module with bays `allIds`. It switches off only its own set unless `othersOff` is given; a
 * quarantined bay (`quarantined`, every one on the module) is never switched, even then.
 */
export function bootstrapScope(
  allIds: readonly number[],
  run: readonly number[],
  skipped: readonly number[],
  othersOff: boolean,
  quarantined: readonly number[] = skipped,
): BootstrapScope {
  const keep = new Set([...skipped, ...quarantined]);
  const inSet = new Set(run);
  const switchedOff = allIds.filter((id) => inSet.has(id) || (othersOff && !keep.has(id)));
  const off = new Set(switchedOff);
  return {
    nodes: [...run],
    switchedOff,
    untouched: allIds.filter((id) => !off.has(id)),
    skippedQuarantined: [...skipped],
    othersOff,
  };
}

/** The outcome of finishing a stage. */
export type StageOutcome =
  | { stage: "fabric" | "control_plane" | "boot"; ok: boolean }
  | { stage: "self_test"; failedNodes: number[] }
  | { stage: "wait_heartbeats"; silentNodes: number[] };

/** A fresh bootstrap of `nodes`. */
export function initialBootstrap(
  nodes: number[],
  jobId: string | null,
  now: number,
  switchedOff: number[] = nodes,
): BootstrapState {
  return {
    stage: "fabric",
    jobId,
    startedAt: now,
    nodes,
    switchedOff,
    failedSelfTest: [],
    silent: [],
    stageAt: now,
  };
}

/** True for running, degraded and failed. */
export function isFinal(stage: BootstrapStage): boolean {
  return !WORKING_STAGES.includes(stage);
}

/**
 * The transition function. A stage reporting on the wrong stage is a programming error.
 * A self test with failures boots only the nodes that passed; silent nodes make the end
 * state `degraded` rather than `running`; all nodes failing makes it `failed`.
 */
export function advance(s: BootstrapState, o: StageOutcome, now: number): BootstrapState {
  if (o.stage !== s.stage) throw new Error(`bootstrap is in ${s.stage}, not ${o.stage}`);
  const next = (stage: BootstrapStage, patch: Partial<BootstrapState> = {}) => ({
    ...s,
    ...patch,
    stage,
    stageAt: now,
  });
  switch (o.stage) {
    case "fabric":
      return next(o.ok ? "control_plane" : "failed");
    case "control_plane":
      return next(o.ok ? "self_test" : "failed");
    case "self_test": {
      const failed = new Set(o.failedNodes);
      const remaining = s.nodes.filter((n) => !failed.has(n));
      if (remaining.length === 0 && s.nodes.length > 0) {
        return next("failed", { failedSelfTest: o.failedNodes });
      }
      return next("boot", { failedSelfTest: o.failedNodes });
    }
    case "boot":
      return next(o.ok ? "wait_heartbeats" : "failed");
    case "wait_heartbeats": {
      const degraded = o.silentNodes.length > 0 || s.failedSelfTest.length > 0;
      return next(degraded ? "degraded" : "running", { silent: o.silentNodes });
    }
  }
}

/** The nodes a bootstrap boots: its nodes minus those that failed the self test. */
export function nodesToBoot(s: BootstrapState): number[] {
  const failed = new Set(s.failedSelfTest);
  return s.nodes.filter((n) => !failed.has(n));
}

/** A stage as people read it: "wait_heartbeats" → "wait heartbeats". */
export function stageLabel(stage: BootstrapStage): string {
  return stage.replaceAll("_", " ");
}

/** How long the self test of `nodeCount` nodes is expected to take, ms. */
export function selfTestMs(t: SelfTestOptions, nodeCount: number): number {
  return 2 * Math.max(0, nodeCount - 1) * t.stepMs + t.holdMs;
}

/** When each stage is expected to start, relative to the bootstrap's start (for progress and docs). */
export function expectedTimeline(
  t: BootstrapTimings,
  nodeCount: number,
): { stage: BootstrapStage; atMs: number }[] {
  const testMs = selfTestMs(t.selfTest, nodeCount);
  const cp = t.fabricMs;
  const test = cp + t.controlPlaneMs;
  const boot = test + testMs + t.bootGapMs;
  return [
    { stage: "fabric", atMs: 0 },
    { stage: "control_plane", atMs: cp },
    { stage: "self_test", atMs: test },
    { stage: "boot", atMs: boot },
    { stage: "wait_heartbeats", atMs: boot },
  ];
}
