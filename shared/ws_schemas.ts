/**
 * Frames of the hub's WebSocket machine interface (`GET /api/v1/ws`), one zod definition
 * each. Every frame is a JSON text message. Requests carry an `id` (string or number) that
 * the hub echoes in the matching `result` or `error` frame; `event` and `dropped` frames are
 * unsolicited. See docs/live.md.
 */
import { z } from "zod";
import {
  ClusterEvent,
  Job,
  NodeSetText,
  NodeStatus,
  NodeUpdate,
  PowerAction,
  RequestedLedMode,
} from "./schemas.ts";

/** Request id chosen by the client, echoed in the reply. */
export const RequestId = z.union([z.string().min(1).max(100), z.number().int()], {
  error: "every request needs an id, a string or a whole number, echoed in its reply",
});
export type RequestId = z.infer<typeof RequestId>;

/** Authenticates the socket with the admin token (alternative to header or ?token=). */
export const AuthFrame = z.strictObject({
  id: RequestId.optional(),
  type: z.literal("auth"),
  token: z.string().min(1).max(512),
});

/**
 * Starts event delivery; `after` replays stored events after that id first; `updates: "nodes"`
 * adds node updates (`node_updated` frames: what changed in each node, heartbeats included).
 */
export const SubscribeFrame = z.strictObject({
  id: RequestId,
  type: z.literal("subscribe"),
  after: z.number().int().nonnegative().optional(),
  updates: z.literal("nodes").optional(),
});

/** Stops event delivery. */
export const UnsubscribeFrame = z.strictObject({
  id: RequestId,
  type: z.literal("unsubscribe"),
});

/** A node id in a frame: any whole number here; the hub's range parser checks it against the
 * module (so "node 61" gets the same invalid_range answer as over REST). */
const WsNode = z.number().int();

/** Switches one node (`node`) or a node set (`nodes`, e.g. "1-16,23"); answers the job. */
export const PowerFrame = z.strictObject({
  id: RequestId,
  type: z.literal("power"),
  node: WsNode.optional(),
  nodes: NodeSetText.optional(),
  state: PowerAction,
}).refine((f) => (f.node === undefined) !== (f.nodes === undefined), {
  message: 'give exactly one of node (a number) or nodes (a node set such as "1-16,23")',
  path: ["node"],
});

/** Sets a bay LED mode (debugled); answers the node's status. */
export const LedFrame = z.strictObject({
  id: RequestId,
  type: z.literal("led"),
  node: WsNode,
  mode: RequestedLedMode,
});

/** Asks for the status of every bay. */
export const NodesFrame = z.strictObject({
  id: RequestId,
  type: z.literal("nodes"),
});

/** Asks for one job by id. */
export const JobFrame = z.strictObject({
  id: RequestId,
  type: z.literal("job"),
  job: z.string().min(1).max(200),
});

/** Any client → hub frame. */
export const ClientFrame = z.discriminatedUnion("type", [
  AuthFrame,
  SubscribeFrame,
  UnsubscribeFrame,
  PowerFrame,
  LedFrame,
  NodesFrame,
  JobFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

/** Client frame types that need the admin token. */
export const WS_ADMIN_FRAMES: ReadonlySet<ClientFrame["type"]> = new Set(["power", "led"]);

/** Sent once when the socket opens. */
export const HelloFrame = z.strictObject({
  type: z.literal("hello"),
  version: z.string(),
  authenticated: z.boolean(),
});

/** Success reply; `data` depends on the request (Job, NodeStatus, NodeStatus[], …). */
export const ResultFrame = z.strictObject({
  id: RequestId.nullable(),
  type: z.literal("result"),
  ok: z.literal(true),
  data: z.unknown(),
});

/** Failure reply; `id` is null when the request's id could not be read. */
export const ErrorFrame = z.strictObject({
  id: RequestId.nullable(),
  type: z.literal("error"),
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

/** One event of the hub's event stream (after `subscribe`). */
export const EventFrame = z.strictObject({ type: z.literal("event"), event: ClusterEvent });

/**
 * What changed in one node (after `subscribe` with `updates: "nodes"`). Live only: not
 * stored, not replayed by `after`; read the `nodes` once when subscribing, then apply these.
 */
export const NodeUpdateFrame = z.strictObject({
  type: z.literal("node_updated"),
  update: NodeUpdate,
});

/** `count` events were dropped because the client read too slowly. */
export const DroppedFrame = z.strictObject({
  type: z.literal("dropped"),
  count: z.number().int().positive(),
  /** Last dropped event id: resubscribe with `after` to fetch the gap from the store. */
  lastId: z.number().int(),
});

/** Any hub → client frame. */
export const ServerFrame = z.discriminatedUnion("type", [
  HelloFrame,
  ResultFrame,
  ErrorFrame,
  EventFrame,
  NodeUpdateFrame,
  DroppedFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** Typed `data` of results, for clients. */
export const WsResultData = {
  power: Job,
  led: NodeStatus,
  nodes: z.array(NodeStatus),
  job: Job,
  subscribe: z.strictObject({ subscribed: z.literal(true), after: z.number().int() }),
  unsubscribe: z.strictObject({ subscribed: z.literal(false) }),
  auth: z.strictObject({ authenticated: z.literal(true) }),
} as const;
