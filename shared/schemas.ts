/**
 * Every message between hub, node agent, CLI and REST clients: one zod definition each,
 * giving both the runtime validator and the TypeScript type. Objects are strict: unknown
 * fields are rejected, so a typo in a client is an error, not a silent no-op.
 */
import { z } from "zod";
import { ClusterError } from "./errors.ts";

/** Raspberry Pi models a bay can hold. */
export const Model = z.enum(["pi3b", "pi3b+", "pi4", "pi0w", "unknown"]);
export type Model = z.infer<typeof Model>;

/** Human name of each model. */
export const MODEL_NAMES: Record<Model, string> = {
  "pi3b": "Raspberry Pi 3 Model B",
  "pi3b+": "Raspberry Pi 3 Model B+",
  "pi4": "Raspberry Pi 4 Model B",
  "pi0w": "Raspberry Pi Zero W",
  "unknown": "unknown model",
};

/** A control-plane node id (the module's size is checked by the hub). */
export const NodeId = z.number().int().min(1).max(60);

/** Power rail state of one node. */
export const PowerState = z.enum(["on", "off"]);
export type PowerState = z.infer<typeof PowerState>;

/** What a power command asks for. */
export const PowerAction = z.enum(["on", "off", "cycle"]);
export type PowerAction = z.infer<typeof PowerAction>;

/** Bay LED modes. `fault` is set by the agent itself when the hub is unreachable. */
export const LedMode = z.enum(["heartbeat", "identify", "fault", "on", "off"]);
export type LedMode = z.infer<typeof LedMode>;

/** LED modes a client may request (debugled). */
export const RequestedLedMode = z.enum(["heartbeat", "identify", "on", "off"]);
export type RequestedLedMode = z.infer<typeof RequestedLedMode>;

/** Node lifecycle as the hub sees it. */
export const Lifecycle = z.enum(["off", "powering", "booting", "running", "lost", "fault"]);
export type Lifecycle = z.infer<typeof Lifecycle>;

/** `POST /api/v1/nodes/:id/power` */
export const PowerCommand = z.strictObject({ state: PowerAction });
export type PowerCommand = z.infer<typeof PowerCommand>;

/** `POST /api/v1/power`: a node set such as "1-16,23,30-60". */
export const BulkPowerCommand = z.strictObject({
  state: PowerAction,
  nodes: z.string().min(1).max(512),
});
export type BulkPowerCommand = z.infer<typeof BulkPowerCommand>;

/** A node set such as "1-16,23,30-60", "1 60" or "all". */
const NodeSetText = z.string().min(1).max(512);

/** `POST /api/v1/testall` and `POST /api/v1/bootstrap`: optional node set (default: enabled bays). */
export const NodeSetBody = z.strictObject({ nodes: NodeSetText.optional() });
export type NodeSetBody = z.infer<typeof NodeSetBody>;

/** `POST /api/v1/activetest` */
export const ActiveTestCommand = z.strictObject({
  nodes: NodeSetText.optional(),
  /** How long to wait for heartbeats, ms (default 120 000). */
  timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
});
export type ActiveTestCommand = z.infer<typeof ActiveTestCommand>;

/** `POST /api/v1/macs/learn`: bays to learn (default: enabled LAN bays without a MAC). */
export const MacLearnCommand = z.strictObject({
  nodes: NodeSetText.optional(),
  /** How long to wait for each bay's DHCP request, ms (default 90 000). */
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
});
export type MacLearnCommand = z.infer<typeof MacLearnCommand>;

/** `POST /api/v1/enabled`: include or exclude bays (spares) from bulk runs and bootstrap. */
export const EnableCommand = z.strictObject({ nodes: NodeSetText, enabled: z.boolean() });
export type EnableCommand = z.infer<typeof EnableCommand>;

/** `POST /api/v1/nodes/:id/led` (debugled). */
export const LedCommand = z.strictObject({ mode: RequestedLedMode });
export type LedCommand = z.infer<typeof LedCommand>;

const Mac = z.string().regex(
  /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/,
  "MAC must be six lower-case hex pairs like b8:27:eb:12:34:56",
);

/** What a node agent knows about itself. */
export const NodeIdentity = z.strictObject({
  /** Control-plane id if the agent knows it (config, kernel command line, hostname). */
  node: NodeId.optional(),
  hostname: z.string().min(1).max(253),
  model: Model,
  /** Board name as read from the device tree, e.g. "Raspberry Pi 3 Model B Plus Rev 1.3". */
  boardName: z.string().max(200),
  serial: z.string().max(64),
  mac: Mac.nullable(),
  agentVersion: z.string().max(40),
});
export type NodeIdentity = z.infer<typeof NodeIdentity>;

/** Health figures sent with each heartbeat. */
export const NodeHealth = z.strictObject({
  uptimeSeconds: z.number().nonnegative(),
  load1: z.number().nonnegative(),
  memTotalBytes: z.number().int().nonnegative(),
  memAvailableBytes: z.number().int().nonnegative(),
  /** CPU temperature in °C, null where the board has no sensor. */
  cpuTempCelsius: z.number().nullable(),
});
export type NodeHealth = z.infer<typeof NodeHealth>;

/** `POST /api/v1/agent/heartbeat`: sent by each node agent every interval. */
export const Heartbeat = z.strictObject({
  identity: NodeIdentity,
  health: NodeHealth,
  led: LedMode,
  /** Increases by one per heartbeat since the agent started. */
  seq: z.number().int().nonnegative(),
  /** Agent's wall clock at send time, ms since the epoch. */
  sentAt: z.number().int().nonnegative(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** The hub's answer to a heartbeat: commands for the node travel back here. */
export const HeartbeatReply = z.strictObject({
  node: NodeId,
  /** The LED mode the hub wants (null: agent chooses, i.e. heartbeat). */
  led: RequestedLedMode.nullable(),
  /** How often the hub wants heartbeats, in ms. */
  intervalMs: z.number().int().positive(),
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

/** The latest report of a node's agent, as the hub keeps it. */
export const AgentReport = z.strictObject({
  identity: NodeIdentity,
  health: NodeHealth,
  led: LedMode,
  seq: z.number().int().nonnegative(),
  /** Hub time the heartbeat arrived, ms since the epoch. */
  receivedAt: z.number().int(),
});
export type AgentReport = z.infer<typeof AgentReport>;

/** One bay as `GET /api/v1/nodes` shows it. */
export const NodeStatus = z.strictObject({
  id: NodeId,
  bus: z.number().int().min(1).max(10),
  slot: z.number().int().min(1).max(6),
  hostname: z.string(),
  ip: z.string(),
  mac: Mac.nullable(),
  expectedModel: Model,
  lan: z.boolean(),
  enabled: z.boolean(),
  power: z.strictObject({ desired: PowerState, actual: PowerState }),
  lifecycle: Lifecycle,
  /** LED mode the hub asked for (null: the agent's default heartbeat). */
  ledRequested: RequestedLedMode.nullable(),
  lastHeartbeatAt: z.number().int().nullable(),
  /**
   * The last heartbeat the hub has seen from this bay, kept when the node goes off
   * (`lastHeartbeatAt` is cleared then) and across hub restarts (stored): null only for a bay
   * whose agent never reported.
   */
  lastSeenAt: z.number().int().nullable(),
  agent: AgentReport.nullable(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

/** `GET /api/v1/module` */
export const ModuleInfo = z.strictObject({
  assetTag: z.strictObject({ sku: z.string(), model: z.string(), tag: z.string() }),
  nodeCount: z.number().int(),
  buses: z.number().int(),
  slotsPerBus: z.number().int(),
  subnet: z.string(),
  domain: z.string(),
  powerDriver: z.string(),
  switch: z.strictObject({ id: z.number(), hostname: z.string(), ip: z.string() }),
  hub: z.strictObject({ id: z.number(), hostname: z.string(), ip: z.string() }),
});
export type ModuleInfo = z.infer<typeof ModuleInfo>;

/** Kinds of long-running work. */
export const JobKind = z.enum(["power", "testall", "activetest", "bootstrap", "maclearn"]);
export type JobKind = z.infer<typeof JobKind>;

/** A job: every power operation and test runs as one. */
export const Job = z.strictObject({
  id: z.string(),
  kind: JobKind,
  state: z.enum(["queued", "running", "succeeded", "failed"]),
  /** What was asked, e.g. "on 1-16,23". */
  summary: z.string(),
  progress: z.strictObject({
    done: z.number().int(),
    total: z.number().int(),
    /** The latest step, e.g. "fabric: waiting for the switch". */
    note: z.string().optional(),
    /**
     * For a step that waits for a known time (the bootstrap's stages): ms left as of this
     * answer. Counted by the hub when it answers, so a reader needs no clock in step with it.
     */
    remainingMs: z.number().int().nonnegative().optional(),
  }),
  createdAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  /** Per-node results or a report, kind-specific. */
  result: z.unknown().optional(),
  error: z.string().nullable(),
  /** The error's code (see ErrorBody), set when the job failed. */
  errorCode: z.string().optional(),
});
export type Job = z.infer<typeof Job>;

/** Event types of the hub's one event stream. */
export const EventType = z.enum([
  "power_changed",
  "lifecycle_changed",
  "led_changed",
  "heartbeat_lost",
  "heartbeat_regained",
  "job_progress",
  "mac_learned",
  "mac_conflict",
  "mac_forgotten",
  "service_state",
  "fault",
  "hub_started",
  "power_mismatch",
  "console_attach",
  "console_detach",
  "console_takeover",
  "console_source",
]);
export type EventType = z.infer<typeof EventType>;

/** One event. `node` is set for node events; `data` is type-specific detail. */
export const ClusterEvent = z.strictObject({
  id: z.number().int().positive(),
  at: z.number().int(),
  type: EventType,
  node: NodeId.nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type ClusterEvent = z.infer<typeof ClusterEvent>;

/** Every error body: `{"error":{"code":"…","message":"…"}}`. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * Validates `value` against `schema`, throwing a {@link ClusterError} (`invalid_body`) whose
 * message names each bad field, e.g. `state: expected one of "on"|"off"|"cycle"`.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what = "body"): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const path = i.path.length ? i.path.join(".") : what;
    return `${path}: ${i.message}`;
  });
  throw new ClusterError("invalid_body", `invalid ${what}: ${problems.join("; ")}`, problems);
}
