/**
 * Every message between hub, node agent, CLI and REST clients: one zod definition each,
 * giving both the runtime validator and the TypeScript type. Objects are strict: unknown
 * fields are rejected, so a typo in a client is an error, not a silent no-op.
 */
import { z } from "zod";
import {
  ErrorBody,
  Heartbeat as WireHeartbeat,
  HeartbeatReply,
  Job,
  JobKind,
  LedEngineKind,
  LedMode,
  Mac,
  Model,
  NodeHealth as WireNodeHealth,
  NodeId,
  NodeIdentity as WireNodeIdentity,
  parseOrThrow,
  PowerAction,
  RequestedLedMode,
} from "./wire_schemas.ts";
import { Quarantine } from "./boot_schemas.ts";
import { SLOTS_PER_BUS } from "./node_map.ts";

// The agent's wire protocol is defined in wire_schemas.ts (zod/mini, so the agent does not load
// classic zod); it is part of this module's public face all the same.
export {
  ErrorBody,
  HeartbeatReply,
  Job,
  JobKind,
  LedEngineKind,
  LedMode,
  Mac,
  Model,
  NodeId,
  parseOrThrow,
  PowerAction,
  RequestedLedMode,
};

/*
 * The heartbeat's objects once more, as classic zod objects over the very same field
 * schemas: classic objects compile a fast parser (zod/mini's do not), and the hub validates
 * every heartbeat. The fields are defined once, in wire_schemas.ts.
 */

/** What a node agent knows about itself. */
export const NodeIdentity = z.strictObject(WireNodeIdentity._zod.def.shape);
export type NodeIdentity = z.infer<typeof NodeIdentity>;

/** Health figures sent with each heartbeat. */
export const NodeHealth = z.strictObject(WireNodeHealth._zod.def.shape);
export type NodeHealth = z.infer<typeof NodeHealth>;

/** `POST /api/v1/agent/heartbeat`: sent by each node agent every interval. */
export const Heartbeat = z.strictObject({
  ...WireHeartbeat._zod.def.shape,
  identity: NodeIdentity,
  health: NodeHealth,
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Human name of each model. */
export const MODEL_NAMES: Record<Model, string> = {
  "pi3b": "Raspberry Pi 3 Model B",
  "pi3b+": "Raspberry Pi 3 Model B+",
  "pi4": "Raspberry Pi 4 Model B",
  "pi0w": "Raspberry Pi Zero W",
  "unknown": "unknown model",
};

/** Power rail state of one node. */
export const PowerState = z.enum(["on", "off"]);
export type PowerState = z.infer<typeof PowerState>;

/** Node lifecycle as the hub sees it. */
export const Lifecycle = z.enum(["off", "powering", "booting", "running", "lost", "fault"]);
export type Lifecycle = z.infer<typeof Lifecycle>;

/**
 * Boot supervision for a manual switch-on (opt-in; a bootstrap always supervises): a stalled
 * boot is power-cycled, then quarantined.
 */
const Supervise = z.boolean().optional();

/** `POST /api/v1/nodes/:id/power` */
export const PowerCommand = z.strictObject({ state: PowerAction, supervise: Supervise });
export type PowerCommand = z.infer<typeof PowerCommand>;

/**
 * A node set such as "1-16,23,30-60", "1 60" or "all". An empty one passes here, so that the
 * range parser refuses it (`invalid_range`, "empty node set"), as it refuses one of spaces.
 */
export const NodeSetText = z.string().max(512);

/** `POST /api/v1/power`: a node set such as "1-16,23,30-60". */
export const BulkPowerCommand = z.strictObject({
  state: PowerAction,
  nodes: NodeSetText,
  supervise: Supervise,
});
export type BulkPowerCommand = z.infer<typeof BulkPowerCommand>;

/** `POST /api/v1/power/plan`: what `POST /power` would switch, when; nothing is switched. */
export const PowerPlan = z.strictObject({
  action: PowerAction,
  /** Nodes that would be switched, and quarantined ones a bulk switch-on would skip. */
  nodes: z.array(z.number().int()),
  skipped: z.array(z.number().int()),
  /** The inrush limits in force. */
  limits: z.strictObject({ perBus: z.number(), perStep: z.number(), stepMs: z.number() }),
  /** Switch-off first (off, and the off half of cycle): all at once. */
  off: z.array(z.number().int()),
  /** Switch-on windows, ms after the start (cycle: after the off time). */
  windows: z.array(z.strictObject({
    atMs: z.number(),
    nodes: z.array(z.number().int()),
    buses: z.array(z.number().int()),
  })),
});
export type PowerPlan = z.infer<typeof PowerPlan>;

/** `POST /api/v1/testall` and `POST /api/v1/bootstrap`: optional node set (default: enabled bays). */
export const NodeSetBody = z.strictObject({ nodes: NodeSetText.optional() });
export type NodeSetBody = z.infer<typeof NodeSetBody>;

/** `POST /api/v1/bootstrap`: optional node set; the preflight runs first unless skipped. */
export const BootstrapCommand = z.strictObject({
  nodes: NodeSetText.optional(),
  /** Start even though the preflight failed (it still runs and is reported). */
  skipPreflight: z.boolean().optional(),
  /**
   * Also switch off every bay outside the set in the all-off stage. Without it a bootstrap
   * touches only its own set (as the vendor's `power.py N on` loop does).
   */
  othersOff: z.boolean().optional(),
});
export type BootstrapCommand = z.infer<typeof BootstrapCommand>;

/** `POST /api/v1/bootstrap/plan`: what a bootstrap with that body would switch, and when. */
export const BootstrapPlan = z.object({
  /** Nodes it self-tests and boots. */
  nodes: z.array(z.number().int()),
  /** Nodes it switches off in the all-off stage: its set, or every bay with othersOff. */
  switchedOff: z.array(z.number().int()),
  /** Bays it leaves exactly as they are. */
  untouched: z.array(z.number().int()),
  /** Requested nodes left out because they are quarantined (untouched too). */
  skippedQuarantined: z.array(z.number().int()),
  othersOff: z.boolean(),
  /** When each stage is expected to start, ms after the bootstrap starts. */
  timeline: z.array(z.object({ stage: z.string(), atMs: z.number() })),
});
export type BootstrapPlan = z.infer<typeof BootstrapPlan>;

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

/** The latest report of a node's agent, as the hub keeps it. */
export const AgentReport = z.strictObject({
  identity: NodeIdentity,
  health: NodeHealth,
  led: LedMode,
  /** Who blinks the bay LED, as the heartbeat said (absent: an agent that does not say). */
  ledEngine: z.optional(LedEngineKind),
  seq: z.number().int().nonnegative(),
  /** Hub time the heartbeat arrived, ms since the epoch. */
  receivedAt: z.number().int(),
});
export type AgentReport = z.infer<typeof AgentReport>;

/** One bay as `GET /api/v1/nodes` shows it. */
export const NodeStatus = z.strictObject({
  id: NodeId,
  bus: z.number().int().min(1),
  slot: z.number().int().min(1).max(SLOTS_PER_BUS),
  hostname: z.string(),
  ip: z.string(),
  mac: z.nullable(Mac),
  expectedModel: Model,
  lan: z.boolean(),
  enabled: z.boolean(),
  power: z.strictObject({ desired: PowerState, actual: PowerState }),
  lifecycle: Lifecycle,
  /** LED mode the hub asked for (null: the agent's default heartbeat). */
  ledRequested: z.nullable(RequestedLedMode),
  lastHeartbeatAt: z.number().int().nullable(),
  /**
   * The last heartbeat the hub has seen from this bay, kept when the node goes off
   * (`lastHeartbeatAt` is cleared then) and across hub restarts (stored): null only for a bay
   * whose agent never reported.
   */
  lastSeenAt: z.number().int().nullable(),
  agent: AgentReport.nullable(),
  /** Set while the node is quarantined (lifecycle `fault`) after a failed boot. */
  quarantine: Quarantine.nullable(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

/**
 * What changed in one node's status (`node_updated`, on the event stream with
 * `?updates=nodes` and on WebSockets subscribed with `"updates":"nodes"`): the members of
 * `NodeStatus` that differ from the previous update, and only those. `power`, `agent`,
 * `agent.identity`, `agent.health` and `quarantine` hold only their changed members when the
 * node had such an object before; an object where there was none (an agent's first report, a
 * new quarantine) comes whole. Apply one with `applyNodeChanges` (`shared/node_update.ts`):
 * objects merge, anything else replaces. The bay's fixed facts (bus, slot, hostname, ip,
 * lan, expected model) never change. An update that comes from an agent heartbeat always
 * carries `agent.seq` and `agent.receivedAt`; no other update does.
 */
export const NodeChanges = z.strictObject({
  mac: z.optional(z.nullable(Mac)),
  enabled: z.boolean().optional(),
  power: z.strictObject({ desired: PowerState.optional(), actual: PowerState.optional() })
    .optional(),
  lifecycle: Lifecycle.optional(),
  ledRequested: z.optional(z.nullable(RequestedLedMode)),
  lastHeartbeatAt: z.number().int().nullable().optional(),
  lastSeenAt: z.number().int().nullable().optional(),
  agent: z.strictObject({
    identity: NodeIdentity.partial().optional(),
    health: NodeHealth.partial().optional(),
    led: z.optional(LedMode),
    ledEngine: z.optional(LedEngineKind),
    seq: z.number().int().nonnegative().optional(),
    receivedAt: z.number().int().optional(),
  }).nullable().optional(),
  quarantine: Quarantine.partial().nullable().optional(),
});
export type NodeChanges = z.infer<typeof NodeChanges>;

/**
 * A `node_updated` message: what changed in node `node` at hub time `at` (ms). Live only: not
 * stored, not numbered, not replayed; a client that reconnects reads `/api/v1/nodes` again.
 */
export const NodeUpdate = z.strictObject({
  node: NodeId,
  at: z.number().int(),
  changes: NodeChanges,
});
export type NodeUpdate = z.infer<typeof NodeUpdate>;

/** `GET /api/v1/power-health`: the firmware's throttling flags per bay and per BitBar. */
export const PowerHealthReport = z.strictObject({
  bays: z.array(z.strictObject({
    node: NodeId,
    bus: z.number().int(),
    /** The raw `get_throttled` mask the agent reported. */
    throttled: z.number().int(),
    /** e.g. "under-voltage now; since boot: under-voltage, throttled". */
    description: z.string(),
    underVoltage: z.boolean(),
    underVoltageOccurred: z.boolean(),
    freqCapped: z.boolean(),
    throttledNow: z.boolean(),
    softTempLimit: z.boolean(),
  })),
  buses: z.array(z.strictObject({
    bus: z.number().int(),
    /** Bays reporting flags at all (agents that tell). */
    reporting: z.array(NodeId),
    underVoltageNow: z.array(NodeId),
    underVoltageSinceBoot: z.array(NodeId),
    /** Several bays of this BitBar under-volt: look at its supply. */
    suspect: z.boolean(),
  })),
});
export type PowerHealthReport = z.infer<typeof PowerHealthReport>;

/** `GET /api/v1/module` */
export const ModuleInfo = z.strictObject({
  /** The module's name in a fleet of hubs (`--module`, default the asset tag's TAG). */
  module: z.string(),
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
  "boot_stage",
  "boot_timeout",
  "boot_recovery",
  "quarantined",
  "quarantine_cleared",
  "throttling_changed",
  "bus_undervoltage",
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
  node: z.nullable(NodeId),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
  /** The module (hub) the event comes from, for views across a fleet of hubs. */
  module: z.optional(z.string()),
});
export type ClusterEvent = z.infer<typeof ClusterEvent>;
