/**
 * A node's boot timeline as pure data and transitions: power-on starts one; DHCP, TFTP and
 * heartbeat signals mark stages; per-stage deadlines (ms after power-on) say when a boot has
 * stalled and before which stage. No clock and no I/O: the boot monitor feeds it.
 */
import {
  BOOT_STAGES,
  type BootStage,
  type BootTimeline,
  type StageMark,
} from "../../shared/boot_schemas.ts";

/** Stages a boot is expected to reach by a deadline, ms after power-on. */
export type BootTimeouts = Record<WatchedStage, number>;

/** The stages with a deadline (the others are seen on the way or inferred). */
export type WatchedStage = "dhcp_discover" | "dhcp_ack" | "tftp" | "heartbeat" | "running";

/** Every watched stage, in boot order. */
export const WATCHED_STAGES: readonly WatchedStage[] = [
  "dhcp_discover",
  "dhcp_ack",
  "tftp",
  "heartbeat",
  "running",
];

/**
 * Deadlines from the vendor's timings: a Pi's firmware self test takes about 30 s before
 * the boot ROM asks for DHCP, and a module is running about 2:30 after power-on.
 */
export const VENDOR_BOOT_TIMEOUTS: BootTimeouts = {
  dhcp_discover: 30_000,
  dhcp_ack: 40_000,
  tftp: 60_000,
  heartbeat: 120_000,
  running: 150_000,
};

/**
 * The Raspberry Pi boot ROM's DHCP (Raspberry Pi documentation, "Network booting", known
 * problems): five DISCOVERs five seconds apart, then it gives up and stays off until its
 * power is cycled. It never sends a REQUEST: it takes an OFFER and fetches bootcode.bin at
 * once. From its first DISCOVER it may still take an answer for this long (the last try and
 * the wait after it).
 */
export const ROM_DHCP_WINDOW_MS = 5 * 5_000;

/**
 * When `stage` is due, hub time: `timeouts[stage]` after power-on. The lease and the first
 * TFTP transfer (`dhcp_ack`, `tftp`) are never due while a client that has sent its first
 * DISCOVER may still be within `romWindowMs` of it ({@link ROM_DHCP_WINDOW_MS}; 0: no
 * window): a Pi whose DHCP starts late (the vendor's ~30 s self test) and takes a later try
 * is not power-cycled mid-try, and one that gave up is due as soon as its tries are over.
 */
export function stageDeadline(
  t: BootTimeline,
  stage: WatchedStage,
  timeouts: BootTimeouts,
  romWindowMs = 0,
): number {
  const due = t.poweredOnAt + timeouts[stage];
  if (romWindowMs <= 0 || (stage !== "dhcp_ack" && stage !== "tftp")) return due;
  const discover = t.stages.find((m) => m.stage === "dhcp_discover");
  return discover ? Math.max(due, discover.at + romWindowMs) : due;
}

/** Scales every deadline by `factor` (the hub's time scale). */
export function scaleBootTimeouts(t: BootTimeouts, factor: number): BootTimeouts {
  const out = { ...t };
  for (const s of WATCHED_STAGES) out[s] = Math.max(1, Math.round(t[s] * factor));
  return out;
}

/**
 * A hub's boot deadlines at time scale `scale`: the vendor's, with `given` stages replaced
 * (unscaled, ms after power-on, as `--boot-timeout-*` gives them), all scaled; and the Pi
 * boot ROM's DHCP window scaled alike.
 */
export function scaledBootDeadlines(
  scale: number,
  given: Partial<BootTimeouts> = {},
): { timeouts: BootTimeouts; romDhcpWindowMs: number } {
  return {
    timeouts: scaleBootTimeouts({ ...VENDOR_BOOT_TIMEOUTS, ...given }, scale),
    romDhcpWindowMs: Math.round(ROM_DHCP_WINDOW_MS * scale),
  };
}

/** A signal that moves a timeline on. */
export type BootSignal =
  | {
    kind: "dhcp_discover" | "dhcp_request" | "dhcp_ack";
    at: number;
    detail: string;
  }
  | { kind: "tftp"; at: number; file: string; ip: string; ok: boolean }
  | { kind: "heartbeat"; at: number; seq: number };

/** A fresh timeline: the rail read back on at `at`. */
export function startTimeline(
  node: number,
  at: number,
  attempt: number,
  netbootObserved: boolean,
  detail = "rail reads on",
): BootTimeline {
  return {
    node,
    attempt,
    poweredOnAt: Math.round(at),
    netbootObserved,
    state: "booting",
    stalledAt: null,
    stages: [{ stage: "power_on", at: Math.round(at), detail, inferred: false }],
    tftp: [],
    endedAt: null,
  };
}

/** Whether `stage`, or any stage after it, has been reached. */
export function reachedOrPassed(t: BootTimeline, stage: BootStage): boolean {
  const i = BOOT_STAGES.indexOf(stage);
  return t.stages.some((m) => BOOT_STAGES.indexOf(m.stage) >= i);
}

function has(t: BootTimeline, stage: BootStage): boolean {
  return t.stages.some((m) => m.stage === stage);
}

function mark(t: BootTimeline, m: StageMark): BootTimeline {
  const stages = [...t.stages, m].sort((a, b) =>
    BOOT_STAGES.indexOf(a.stage) - BOOT_STAGES.indexOf(b.stage)
  );
  return { ...t, stages };
}

/**
 * Applies one signal. Returns the new timeline and the stages it reached (each stage is
 * reached once; later TFTP files are only added to `tftp`). A timeline that ended (off,
 * stalled, running) takes no more signals, except the running one's TFTP/heartbeat noise.
 */
export function applySignal(
  t: BootTimeline,
  s: BootSignal,
): { timeline: BootTimeline; reached: StageMark[] } {
  if (t.state !== "booting") return { timeline: t, reached: [] };
  const at = Math.round(s.at);
  const reached: StageMark[] = [];
  let next = t;
  const reach = (stage: BootStage, detail: string, inferred = false) => {
    if (has(next, stage)) return;
    const m = { stage, at, detail, inferred };
    next = mark(next, m);
    reached.push(m);
  };
  switch (s.kind) {
    case "dhcp_discover":
    case "dhcp_request":
    case "dhcp_ack":
      reach(s.kind, s.detail);
      break;
    case "tftp":
      next = { ...next, tftp: [...next.tftp, { at, file: s.file, ip: s.ip, ok: s.ok }] };
      if (s.ok) reach("tftp", `sent ${s.file} to ${s.ip}`);
      break;
    case "heartbeat":
      if (!has(next, "heartbeat")) {
        if (next.netbootObserved && has(next, "tftp")) {
          reach("nfs_root", "the agent runs, so the NFS root mounted", true);
        }
        reach("heartbeat", `first heartbeat (seq ${s.seq})`);
      } else {
        reach("running", `heartbeats steady (seq ${s.seq})`);
        next = { ...next, state: "running", endedAt: at };
      }
      break;
  }
  return { timeline: next, reached };
}

/** The stages this timeline waits for: all watched ones when netboot is observed. */
export function watchedStages(t: BootTimeline): WatchedStage[] {
  return t.netbootObserved ? [...WATCHED_STAGES] : ["heartbeat", "running"];
}

/**
 * The first watched stage a booting timeline has not reached (nor passed) by its deadline
 * at `now`, or null while it is on time.
 */
export function overdueStage(
  t: BootTimeline,
  now: number,
  timeouts: BootTimeouts,
  romWindowMs = 0,
): WatchedStage | null {
  if (t.state !== "booting") return null;
  for (const stage of watchedStages(t)) {
    if (reachedOrPassed(t, stage)) continue;
    if (now >= stageDeadline(t, stage, timeouts, romWindowMs)) return stage;
  }
  return null;
}

/** When the next deadline of a booting timeline falls (hub time), or null. */
export function nextDeadline(
  t: BootTimeline,
  timeouts: BootTimeouts,
  romWindowMs = 0,
): number | null {
  if (t.state !== "booting") return null;
  const open = watchedStages(t).filter((s) => !reachedOrPassed(t, s));
  if (open.length === 0) return null;
  return Math.min(...open.map((s) => stageDeadline(t, s, timeouts, romWindowMs)));
}

/** Marks a booting timeline stalled before `stage`. */
export function stall(t: BootTimeline, stage: BootStage, now: number): BootTimeline {
  if (t.state !== "booting") return t;
  return { ...t, state: "stalled", stalledAt: stage, endedAt: Math.round(now) };
}

/** Ends a timeline because the rail went off (a booting one; others keep their end). */
export function endTimeline(t: BootTimeline, now: number): BootTimeline {
  if (t.state !== "booting") return t;
  return { ...t, state: "off", endedAt: Math.round(now) };
}

/** The stage a boot got to last (for messages). */
export function lastStage(t: BootTimeline): BootStage {
  return t.stages[t.stages.length - 1]?.stage ?? "power_on";
}
