/**
 * The schemas the small programs validate with, defined with `zod/mini`: the node agent's
 * wire protocol with the hub (heartbeat, reply, error body) and the small enums it and the
 * `cm` CLI check. `schemas.ts` re-exports every one of them (the heartbeat's objects as
 * classic objects over these very fields), so there is still one definition of each. This
 * file exists so that the agent and `cm` do not load classic zod (docs/agent.md#footprint). Import this module, never `schemas.ts`, from
 * `node-agent/` and `hub/cli/` for values (types may come from either).
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ClusterError } from "./errors.ts";

// Classic zod installs its English messages on import; zod/mini leaves that to the caller.
z.config(en());

/** Raspberry Pi models a bay can hold. */
export const Model = z.enum(["pi3b", "pi3b+", "pi4", "pi0w", "unknown"]);
export type Model = z.infer<typeof Model>;

/**
 * A control-plane node id: its shape only, a whole number from 1. Whether the module has that
 * bay is the hub's check, against its node map, with a message naming the module's range.
 */
export const NodeId = z.int().check(z.minimum(1));

/** What a power command asks for. */
export const PowerAction = z.enum(["on", "off", "cycle"]);
export type PowerAction = z.infer<typeof PowerAction>;

/** Bay LED modes. `fault` is set by the agent itself when the hub is unreachable. */
export const LedMode = z.enum(["heartbeat", "identify", "fault", "on", "off"]);
export type LedMode = z.infer<typeof LedMode>;

/** LED modes a client may request (debugled). */
export const RequestedLedMode = z.enum(["heartbeat", "identify", "on", "off"]);
export type RequestedLedMode = z.infer<typeof RequestedLedMode>;

/** A MAC address as the hub and agents write it: lower-case, colon-separated. */
export const Mac = z.string().check(
  z.regex(
    /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/,
    "MAC must be six lower-case hex pairs like b8:27:eb:12:34:56",
  ),
);

const NonNegativeInt = z.int().check(z.nonnegative());

/** What a node agent knows about itself. */
export const NodeIdentity = z.strictObject({
  /** Control-plane id if the agent knows it (config, kernel command line, hostname). */
  node: z.optional(NodeId),
  hostname: z.string().check(z.minLength(1), z.maxLength(253)),
  model: Model,
  /** Board name as read from the device tree, e.g. "Raspberry Pi 3 Model B Plus Rev 1.3". */
  boardName: z.string().check(z.maxLength(200)),
  serial: z.string().check(z.maxLength(64)),
  mac: z.nullable(Mac),
  agentVersion: z.string().check(z.maxLength(40)),
});
export type NodeIdentity = z.infer<typeof NodeIdentity>;

/** Health figures sent with each heartbeat. */
export const NodeHealth = z.strictObject({
  uptimeSeconds: z.number().check(z.nonnegative()),
  load1: z.number().check(z.nonnegative()),
  memTotalBytes: NonNegativeInt,
  memAvailableBytes: NonNegativeInt,
  /** CPU temperature in °C, null where the board has no sensor. */
  cpuTempCelsius: z.nullable(z.number()),
  /**
   * The firmware's throttling flags (`get_throttled`: bit 0 under-voltage, 1 frequency capped,
   * 2 throttled, 3 soft temperature limit; bits 16–19 the same since boot), null where the
   * firmware does not tell; absent from agents older than this field. Decode with
   * `decodeThrottled` (`shared/throttled.ts`).
   */
  throttled: z.optional(z.nullable(z.int().check(z.minimum(0), z.maximum(0xffffffff)))),
});
export type NodeHealth = z.infer<typeof NodeHealth>;

/** Who blinks the bay LED (see `Heartbeat.ledEngine`). */
export const LedEngineKind = z.enum(["kernel", "agent"]);
export type LedEngineKind = z.infer<typeof LedEngineKind>;

/** The longest a heartbeat may ask the hub to hold its answer (`Heartbeat.holdMs`), ms. */
export const MAX_HOLD_MS = 1000;

/** `POST /api/v1/agent/heartbeat`: sent by each node agent every interval. */
export const Heartbeat = z.strictObject({
  identity: NodeIdentity,
  health: NodeHealth,
  led: LedMode,
  /**
   * Who blinks the bay LED: `kernel` (the pattern trigger, restarted by the agent) or `agent`
   * (GPIO writes per edge). Absent from agents older than the kernel engine.
   */
  ledEngine: z.optional(LedEngineKind),
  /** Increases by one per heartbeat since the agent started. */
  seq: NonNegativeInt,
  /** Agent's wall clock at send time, ms since the epoch. */
  sentAt: NonNegativeInt,
  /**
   * How long the hub may hold its answer, ms (a long poll; absent = 0: answer at once). The
   * hub answers at once when the answer tells the agent something it does not show (its `led`),
   * and else as soon as that changes, or after `holdMs`.
   */
  holdMs: z.optional(
    z.int().check(
      z.minimum(0, "holdMs must be an integer from 0 to 1000 (ms)"),
      z.maximum(MAX_HOLD_MS, "holdMs must be an integer from 0 to 1000 (ms)"),
    ),
  ),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** The hub's answer to a heartbeat: commands for the node travel back here. */
export const HeartbeatReply = z.strictObject({
  node: NodeId,
  /**
   * The LED mode the hub wants (null: agent chooses, i.e. heartbeat); `fault` for a node the
   * hub quarantined after its boot failed.
   */
  led: z.nullable(LedMode),
  /** How often the hub wants heartbeats, in ms. */
  intervalMs: z.int().check(z.positive()),
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

/** Kinds of job. */
export const JobKind = z.enum(["power", "testall", "activetest", "bootstrap", "maclearn"]);
export type JobKind = z.infer<typeof JobKind>;

/** A job: every power operation and test runs as one (`cm` checks each one it follows). */
export const Job = z.strictObject({
  id: z.string(),
  kind: JobKind,
  state: z.enum(["queued", "running", "succeeded", "failed"]),
  /** What was asked, e.g. "on 1-16,23". */
  summary: z.string(),
  progress: z.strictObject({
    done: z.int(),
    total: z.int(),
    /** The latest step, e.g. "fabric: waiting for the switch". */
    note: z.optional(z.string()),
    /**
     * For a step that waits for a known time (the bootstrap's stages): ms left as of this
     * answer. Counted by the hub when it answers, so a reader needs no clock in step with it.
     */
    remainingMs: z.optional(z.int().check(z.nonnegative())),
  }),
  createdAt: z.int(),
  finishedAt: z.nullable(z.int()),
  /** Per-node results or a report, kind-specific. */
  result: z.optional(z.unknown()),
  error: z.nullable(z.string()),
  /** The error's code (see ErrorBody), set when the job failed. */
  errorCode: z.optional(z.string()),
});
export type Job = z.infer<typeof Job>;

/** Every error body: `{"error":{"code":"…","message":"…"}}`. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.unknown()),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * Validates `value` against `schema` (classic zod or zod/mini), throwing a {@link ClusterError}
 * (`invalid_body`) whose message names each bad field, e.g.
 * `state: expected one of "on"|"off"|"cycle"`. A layer with errors of its own passes
 * `makeError` to raise its type instead.
 */
export function parseOrThrow<T>(
  schema: z.core.$ZodType<T>,
  value: unknown,
  what = "body",
  makeError: (message: string, problems: string[]) => Error = (message, problems) =>
    new ClusterError("invalid_body", message, problems),
): T {
  const r = z.safeParse(schema, value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const path = i.path.length ? i.path.join(".") : what;
    return `${path}: ${i.message}`;
  });
  throw makeError(`invalid ${what}: ${problems.join("; ")}`, problems);
}
