/**
 * `GET /api/v1/ws`: the WebSocket machine interface. Frames are JSON, validated with the
 * schemas in shared/ws_schemas.ts; commands call the same service functions as REST.
 *
 * Auth: the admin token as `Authorization: Bearer …` on the upgrade request, or `?token=…`
 * (browsers cannot set headers on WebSocket), or a first `{"type":"auth","token":…}` frame.
 * A wrong token on the upgrade request is refused with 401; a socket without a token may
 * read (nodes, job, subscribe — all public over REST too) and gets `unauthorized` error
 * frames for power and led until it authenticates. Errors never close the socket. There is
 * no deadline to authenticate: such a socket can do nothing a tokenless REST client cannot,
 * and the caps below bound what many of them cost (docs/live.md).
 *
 * Slow consumers: events are sent only while the socket's send buffer is below
 * `highWaterBytes`; until then they wait in the client's EventFeed (bounded, backed by the
 * store). A client more than `maxLag` events behind has the backlog dropped and gets
 * `{"type":"dropped","count":N,"lastId":ID}` (resubscribe with `after` to fetch the gap). A
 * socket whose buffer stays above the mark for `stallMs` is closed with 1013.
 *
 * Floods: sockets are capped in all and per remote address (ConnectionCaps; refused with 429
 * or 503 before the upgrade), and an event is serialised once for all sockets.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { ClientFrame, type RequestId, WS_ADMIN_FRAMES } from "../../../shared/ws_schemas.ts";
import type { ServerFrame } from "../../../shared/ws_schemas.ts";
import { bearerToken, secretMatches } from "../../auth/secrets.ts";
import type { NodeSettings } from "../../cluster/node_settings.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import type { PowerControl } from "../../cluster/power_control.ts";
import type { EventLog } from "../../events/event_log.ts";
import type { JobRunner } from "../../jobs/job_runner.ts";
import { decodeJson, FRAME } from "../decode_json.ts";
import { toClusterError } from "../errors.ts";
import { route, type RouteSpec } from "../route.ts";
import { EventFeed } from "../../events/event_feed.ts";
import { acquireOrRefuse, type ConnectionCaps, remoteAddress } from "../connection_caps.ts";
import { COALESCE_MS } from "./events.ts";
import { backgroundFailed } from "../../process_faults.ts";

/** Largest accepted frame, in characters. */
export const MAX_FRAME_CHARS = 64 * 1024;

/** What a session writes to: a WebSocket, or a fake in tests. */
export interface WsPeer {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued for sending and not yet written to the network. */
  readonly bufferedAmount: number;
}

/** Session tuning. */
export interface WsOptions {
  /** Send-buffer size above which event delivery pauses, bytes. */
  highWaterBytes?: number;
  /** Events a paused client may fall behind before the backlog is dropped. */
  maxLag?: number;
  /** How often a paused pump looks at the send buffer again, ms. */
  pollMs?: number;
  /** A socket whose send buffer stays above `highWaterBytes` this long is closed, ms. */
  stallMs?: number;
  /** After a wake-up, how long to gather more events before sending, ms. */
  coalesceMs?: number;
}

/** Close code for a client that does not read what it is sent (RFC 6455: try again later). */
export const CLOSE_TOO_SLOW = 1013;

/** `{"type":"event",…}` text per event: serialised once, however many sockets send it. */
const eventFrames = new WeakMap<object, string>();
function eventFrameText(event: ServerFrame & { type: "event" }): string {
  let text = eventFrames.get(event.event);
  if (text === undefined) {
    text = JSON.stringify(event);
    eventFrames.set(event.event, text);
  }
  return text;
}

/** What a session needs from the hub. */
export interface WsDeps {
  status: NodeStatusReader;
  power: PowerControl;
  settings: NodeSettings;
  events: EventLog;
  jobs: JobRunner;
  adminToken: string;
  /** The read-only token (DATA/read-token): a socket with it may read, never command. */
  readToken?: string;
  version: string;
}

/** One WebSocket client. */
export class WsSession {
  readonly #peer: WsPeer;
  readonly #deps: WsDeps;
  readonly #opts: Required<WsOptions>;
  #authenticated: boolean;
  #feed: EventFeed | null = null;
  #open = true;
  /** Events dropped and not yet reported. */
  #dropped = 0;
  #droppedLastId = 0;

  constructor(peer: WsPeer, deps: WsDeps, authenticated: boolean, opts: WsOptions = {}) {
    this.#peer = peer;
    this.#deps = deps;
    this.#authenticated = authenticated;
    this.#opts = {
      highWaterBytes: opts.highWaterBytes ?? 64 * 1024,
      maxLag: opts.maxLag ?? 1000,
      pollMs: opts.pollMs ?? 50,
      stallMs: opts.stallMs ?? 30_000,
      coalesceMs: opts.coalesceMs ?? COALESCE_MS,
    };
  }

  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Greets the client. */
  open(): void {
    this.#send({ type: "hello", version: this.#deps.version, authenticated: this.#authenticated });
  }

  /** Stops event delivery (socket closed). */
  close(): void {
    this.#open = false;
    this.#feed?.close();
    this.#feed = null;
  }

  #send(frame: ServerFrame): void {
    if (!this.#open) return;
    try {
      this.#peer.send(frame.type === "event" ? eventFrameText(frame) : JSON.stringify(frame));
    } catch {
      this.close();
    }
  }

  #reply(id: RequestId | null, data: unknown): void {
    this.#send({ id, type: "result", ok: true, data });
  }

  #fail(id: RequestId | null, err: ClusterError): void {
    const error: { code: string; message: string; details?: unknown } = {
      code: err.code,
      message: err.message,
    };
    if (err.details !== undefined) error.details = err.details;
    this.#send({ id, type: "error", error });
  }

  /** Handles one incoming message; never throws. */
  async message(data: unknown): Promise<void> {
    let id: RequestId | null = null;
    if (!this.#open) return;
    // A client that sends requests but does not read the replies would make the hub buffer
    // without end: past the high-water mark its socket is closed instead.
    if (this.#peer.bufferedAmount > this.#opts.highWaterBytes) {
      this.#peer.close(CLOSE_TOO_SLOW, "too many unread replies; read what you are sent");
      this.close();
      return;
    }
    try {
      if (typeof data !== "string") {
        throw new ClusterError("invalid_body", "frames must be JSON text messages");
      }
      const frame = decodeJson(ClientFrame, data, MAX_FRAME_CHARS, FRAME, (value) => {
        id = readId(value);
      });
      if (WS_ADMIN_FRAMES.has(frame.type) && !this.#authenticated) {
        throw new ClusterError(
          "unauthorized",
          `"${frame.type}" needs the admin token: send {"type":"auth","token":"…"} first, or connect with ?token= or an Authorization header`,
        );
      }
      this.#reply(id, await this.#handle(frame));
    } catch (e) {
      this.#fail(id, toClusterError(e));
    }
  }

  async #handle(frame: ClientFrame): Promise<unknown> {
    const { status, power, settings, events, jobs } = this.#deps;
    switch (frame.type) {
      case "auth":
        if (!secretMatches(frame.token, this.#deps.adminToken)) {
          throw new ClusterError("unauthorized", "the token is not valid for this hub");
        }
        this.#authenticated = true;
        return { authenticated: true };
      case "subscribe": {
        this.#feed?.close();
        const feed = new EventFeed(events, frame.after ?? null, {
          nodeUpdates: frame.updates === "nodes",
        });
        this.#feed = feed;
        const after = feed.cursor;
        // Events start after the reply, from the next turn. A failing pump ends the session
        // (never an unhandled rejection in the hub).
        setTimeout(() => {
          this.#pump(feed).catch(() => {
            this.#peer.close(1011, "event delivery failed");
            this.close();
          });
        }, 0);
        return { subscribed: true, after };
      }
      case "unsubscribe":
        this.#feed?.close();
        this.#feed = null;
        return { subscribed: false };
      case "power": {
        const ids = frame.node !== undefined
          ? [status.checkNode(frame.node)]
          : status.nodeSet(frame.nodes ?? "");
        return await Promise.resolve(power.power(ids, frame.state));
      }
      case "led":
        return settings.setLed(status.checkNode(frame.node), frame.mode);
      case "nodes":
        return status.nodes();
      case "job":
        return jobs.get(frame.job);
    }
  }

  /** Sends the feed's events while the socket keeps up. */
  async #pump(feed: EventFeed): Promise<void> {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let stalledSince: number | null = null;
    while (this.#open && !feed.closed) {
      if (this.#peer.bufferedAmount > this.#opts.highWaterBytes) {
        stalledSince ??= Date.now();
        if (Date.now() - stalledSince >= this.#opts.stallMs) {
          this.#peer.close(
            CLOSE_TOO_SLOW,
            `too slow: send buffer full for ${Math.round(this.#opts.stallMs / 1000)} s`,
          );
          this.close();
          return;
        }
        if (feed.lag > this.#opts.maxLag) {
          const skipped = feed.skipToNewest();
          this.#dropped += skipped.count;
          this.#droppedLastId = skipped.lastId;
        }
        await sleep(this.#opts.pollMs);
        continue;
      }
      stalledSince = null;
      if (this.#dropped > 0) {
        this.#send({ type: "dropped", count: this.#dropped, lastId: this.#droppedLastId });
        this.#dropped = 0;
      }
      const batch = feed.take();
      const updates = feed.takeUpdates();
      if (batch.length > 0 || updates.length > 0) {
        for (const event of batch) this.#send({ type: "event", event });
        for (const update of updates) this.#send({ type: "node_updated", update });
        continue;
      }
      if ((await feed.waitForMore(30_000)) && this.#opts.coalesceMs > 0) {
        await sleep(this.#opts.coalesceMs);
      }
    }
  }
}

/** The request id of a frame, if it has a usable one. */
function readId(value: unknown): RequestId | null {
  if (typeof value !== "object" || value === null || !("id" in value)) return null;
  const id = (value as { id: unknown }).id;
  if (typeof id === "string" && id.length > 0 && id.length <= 100) return id;
  if (typeof id === "number" && Number.isInteger(id)) return id;
  return null;
}

/** The token the upgrade request presents (header wins over ?token=), if any. */
function presentedToken(authorization: string | undefined, query: string | undefined) {
  return bearerToken(authorization) ?? (query && query.trim() !== "" ? query.trim() : undefined);
}

/** Open sessions, so the hub can close them on shutdown. */
export class WsSessions {
  readonly #open = new Map<WsSession, WsPeer>();

  add(session: WsSession, peer: WsPeer): void {
    this.#open.set(session, peer);
  }

  delete(session: WsSession): void {
    this.#open.delete(session);
  }

  get size(): number {
    return this.#open.size;
  }

  closeAll(): void {
    for (const [session, peer] of this.#open) {
      session.close();
      try {
        peer.close(1001, "hub shutting down");
      } catch { /* already closed */ }
    }
    this.#open.clear();
  }
}

/**
 * The `GET /ws` route spec (so the endpoint is in the OpenAPI document). Auth is checked
 * here rather than by the route rule, since a socket may also authenticate with a frame.
 */
export function wsRoutes(
  deps: WsDeps,
  sessions: WsSessions,
  caps: ConnectionCaps,
  opts: WsOptions = {},
): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/ws",
      summary:
        "WebSocket machine interface (upgrade): commands and events as JSON frames, see docs/live.md",
      auth: "read",
      tokenQuery: true,
      status: 101,
      headers: {
        Authorization:
          "Bearer <admin token> (optional; a socket without it, or with the read token, may only read)",
      },
      errors: ["unauthorized", "too_many_connections", "busy"],
      query: {
        token: "admin (or read) token, for clients that cannot send an Authorization header",
      },
      handler: (c) => {
        if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
          throw new ClusterError(
            "bad_request",
            "this is a WebSocket endpoint: connect with a WebSocket client (see docs/live.md)",
          );
        }
        const token = presentedToken(c.req.header("authorization"), c.req.query("token"));
        const admin = token !== undefined && secretMatches(token, deps.adminToken);
        const reader = token !== undefined && deps.readToken !== undefined &&
          secretMatches(token, deps.readToken);
        if (token !== undefined && !admin && !reader) {
          throw new ClusterError("unauthorized", "the token is not valid for this hub");
        }
        const release = acquireOrRefuse(caps, "WebSockets", remoteAddress(c), admin);
        // Deno.upgradeWebSocket, not hono/deno's upgradeWebSocket: that one matches the Upgrade
        // header case-sensitively and echoes a requested subprotocol, both changes for clients.
        let upgraded;
        try {
          upgraded = Deno.upgradeWebSocket(c.req.raw);
        } catch (e) {
          release();
          throw e;
        }
        const { socket, response } = upgraded;
        const peer: WsPeer = {
          send: (t) => socket.send(t),
          close: (code, reason) => socket.close(code, reason),
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
        };
        const session = new WsSession(peer, deps, admin, opts);
        socket.onopen = () => {
          sessions.add(session, peer);
          session.open();
        };
        socket.onmessage = (e) => {
          // message() answers every failure with an error frame; a bug still must not escape.
          session.message(e.data).catch(backgroundFailed("WebSocket message"));
        };
        socket.onclose = () => {
          session.close();
          sessions.delete(session);
          release();
        };
        socket.onerror = () => session.close();
        return response;
      },
    }),
  ];
}
