/**
 * The node console's wire format: the history answer of `GET /api/v1/nodes/:id/console` and
 * the control frames of its WebSocket `/api/v1/nodes/:id/console/ws`. Console bytes travel as
 * binary frames both ways; everything else is one of these JSON text frames. See
 * docs/console.md.
 */
import { z } from "zod";
import { NodeId } from "./schemas.ts";

/** A console's role for one viewer: `writer` may type, a `viewer` only reads. */
export const ConsoleRole = z.enum(["writer", "viewer"]);
export type ConsoleRole = z.infer<typeof ConsoleRole>;

/** Where a node's console comes from, and whether the hub is connected to it now. */
export const ConsoleSourceStatus = z.strictObject({
  /** `serial`, `tcp`, `unix` or `simulated`. */
  kind: z.string(),
  /** e.g. "/dev/ttyUSB3 115200 8N1" or "tcp 127.0.0.1:7007". */
  describe: z.string(),
  connected: z.boolean(),
  /** Why the last connection failed or ended, if it did. */
  lastError: z.string().nullable(),
});
export type ConsoleSourceStatus = z.infer<typeof ConsoleSourceStatus>;

/** One line of console history: when its first byte arrived (ms since the epoch) and its text. */
export const ConsoleLine = z.strictObject({ at: z.number(), text: z.string() });
export type ConsoleLine = z.infer<typeof ConsoleLine>;

/** `GET /api/v1/nodes/:id/console`: the newest lines kept for the node, oldest first. */
export const ConsoleHistory = z.strictObject({
  node: NodeId,
  source: ConsoleSourceStatus,
  /** Bytes kept now (at most the ring's capacity). */
  bytes: z.number().int().nonnegative(),
  /** Viewers attached now, and whether one of them holds the writer role. */
  viewers: z.number().int().nonnegative(),
  writer: z.boolean(),
  lines: z.array(ConsoleLine),
});
export type ConsoleHistory = z.infer<typeof ConsoleHistory>;

// ---- client → hub --------------------------------------------------------------------------

/** Typed input as text (browsers); binary frames carry input as bytes. Writer only. */
export const ConsoleInputFrame = z.strictObject({
  type: z.literal("input"),
  data: z.string().min(1).max(16 * 1024),
});

/** Takes the writer role from whoever holds it (recorded in the event log). */
export const ConsoleTakeoverFrame = z.strictObject({ type: z.literal("takeover") });

/** Gives the writer role up (the socket stays attached as a viewer). */
export const ConsoleReleaseFrame = z.strictObject({ type: z.literal("release") });

/** The viewer's terminal size changed (a serial line carries no window size; shown only). */
export const ConsoleResizeFrame = z.strictObject({
  type: z.literal("resize"),
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});

/** Any JSON frame a console client may send. */
export const ConsoleClientFrame = z.discriminatedUnion("type", [
  ConsoleInputFrame,
  ConsoleTakeoverFrame,
  ConsoleReleaseFrame,
  ConsoleResizeFrame,
]);
export type ConsoleClientFrame = z.infer<typeof ConsoleClientFrame>;

// ---- hub → client --------------------------------------------------------------------------

/** First frame: which node, the source, this socket's role, how many watch. History follows. */
export interface ConsoleHelloFrame {
  type: "hello";
  node: number;
  source: ConsoleSourceStatus;
  role: ConsoleRole;
  viewers: number;
  /** Why the role is `viewer` when a writer was asked for. */
  reason?: string;
}

/** Sent after the history bytes: everything after it is live. */
export interface ConsoleLiveFrame {
  type: "live";
}

/** This socket's role changed (took over, released, or was taken over by another). */
export interface ConsoleRoleFrame {
  type: "role";
  role: ConsoleRole;
  reason: string;
}

/** The hub lost or regained the console source (the node's serial line, the TCP port). */
export interface ConsoleSourceFrame {
  type: "source";
  source: ConsoleSourceStatus;
}

/** A frame the hub could not act on (read-only input, malformed JSON); the socket stays. */
export interface ConsoleErrorFrame {
  type: "error";
  error: { code: string; message: string };
}

/** Any JSON frame the hub sends on a console socket. */
export type ConsoleServerFrame =
  | ConsoleHelloFrame
  | ConsoleLiveFrame
  | ConsoleRoleFrame
  | ConsoleSourceFrame
  | ConsoleErrorFrame;
