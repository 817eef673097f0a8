/**
 * `GET /api/v1/events`: the event stream as Server-Sent Events (default) or, with
 * `?format=json`, a JSON page of stored events for scripts. One RouteSpec serves both, so the
 * route is in the OpenAPI document.
 *
 * SSE resume: `Last-Event-ID` (sent by EventSource on reconnect) or `?after=ID` replays the
 * stored events after ID, then live ones, with no gap and no duplicate (see EventFeed).
 * Memory per client is bounded: the response stream holds a few chunks, the feed at most
 * `maxPending` live events; a client that falls further behind is served from the store.
 * Streams are capped in all and per remote address (ConnectionCaps: 429 or 503 with
 * Retry-After), and each event's SSE text is built once for all streams.
 *
 * `?updates=nodes` adds node updates (`event: node_updated`, the data a `NodeUpdate`): what
 * changed in a node, heartbeats included. They carry no `id` (they are not stored, so a
 * resumed stream cannot replay them): a client reads `/api/v1/nodes` when its stream opens
 * and applies the updates from then on.
 */
import type { Context } from "hono";
import { z } from "zod";
import { ClusterError } from "../../../shared/errors.ts";
import { ClusterEvent, type NodeUpdate } from "../../../shared/schemas.ts";
import type { EventLog } from "../../events/event_log.ts";
import { route, type RouteSpec } from "../route.ts";
import { EventFeed } from "../../events/event_feed.ts";
import { acquireOrRefuse, type ConnectionCaps, remoteAddress } from "../connection_caps.ts";

/** Stream tuning (tests shorten the keep-alive). */
export interface SseOptions {
  /** Interval of `: keep-alive` comments, ms. */
  keepAliveMs?: number;
  /** Live events cached per client before it is served from the store. */
  maxPending?: number;
  /** Chunks (pages of events) the response stream buffers ahead of the socket. */
  bufferedChunks?: number;
  /**
   * After a wake-up, how long to gather more events before writing, ms: a burst (60 nodes
   * switching) goes out in a few chunks per client rather than one write per event.
   */
  coalesceMs?: number;
}

/** Default gathering window of event streams and WebSockets, ms (see SseOptions.coalesceMs). */
export const COALESCE_MS = 25;

/** Largest `limit` of the JSON form. */
export const MAX_JSON_LIMIT = 1000;

/** Open streams, so the hub can end them on shutdown. */
export class SseStreams {
  readonly #open = new Set<() => void>();

  add(close: () => void): () => void {
    this.#open.add(close);
    return () => this.#open.delete(close);
  }

  get size(): number {
    return this.#open.size;
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const close of [...this.#open]) close();
  }
}

function parseEventId(text: string, what: string): number {
  if (!/^[0-9]{1,15}$/.test(text.trim())) {
    throw new ClusterError("bad_request", `${what} must be an event id (0 or more), not "${text}"`);
  }
  return Number(text.trim());
}

/** The resume point a request asks for: Last-Event-ID wins over ?after; null = from now. */
export function resumePoint(c: Context): number | null {
  const header = c.req.header("last-event-id");
  if (header !== undefined && header.trim() !== "") return parseEventId(header, "Last-Event-ID");
  const after = c.req.query("after");
  if (after !== undefined) return parseEventId(after, "after");
  return null;
}

const sseFrames = new WeakMap<ClusterEvent, string>();

/** One event in SSE wire form (built once per event, however many streams send it). */
export function sseFrame(e: ClusterEvent): string {
  let text = sseFrames.get(e);
  if (text === undefined) {
    text = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    sseFrames.set(e, text);
  }
  return text;
}

/** One node update in SSE wire form: no `id`, so the client's resume point stays put. */
export function sseUpdateFrame(u: NodeUpdate): string {
  return `event: node_updated\ndata: ${JSON.stringify(u)}\n\n`;
}

/** Builds the SSE response for one client (`nodeUpdates`: node updates too). */
export function sseResponse(
  events: EventLog,
  after: number | null,
  streams: SseStreams,
  opts: SseOptions = {},
  release: () => void = () => {},
  nodeUpdates = false,
): Response {
  const keepAliveMs = opts.keepAliveMs ?? 15_000;
  const coalesceMs = opts.coalesceMs ?? COALESCE_MS;
  const feed = new EventFeed(events, after, { maxPending: opts.maxPending, nodeUpdates });
  const enc = new TextEncoder();
  let forget = () => {};
  const stop = () => {
    feed.close();
    forget();
    release();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      forget = streams.add(() => {
        stop();
        try {
          controller.close();
        } catch { /* already closed */ }
      });
      // retry: how long EventSource waits before reconnecting (it then sends Last-Event-ID).
      controller.enqueue(enc.encode(`retry: 2000\n: resuming after event ${feed.cursor}\n\n`));
    },
    // Called only while the stream's buffer has room: a slow socket stops the pulls, so events
    // wait in the feed (bounded) or in the store, never in an unbounded queue here.
    async pull(controller) {
      while (!feed.closed) {
        const batch = feed.take();
        const updates = feed.takeUpdates();
        if (batch.length > 0 || updates.length > 0) {
          const text = batch.map(sseFrame).join("") + updates.map(sseUpdateFrame).join("");
          controller.enqueue(enc.encode(text));
          return;
        }
        if (!(await feed.waitForMore(keepAliveMs))) {
          controller.enqueue(enc.encode(`: keep-alive ${new Date().toISOString()}\n\n`));
          return;
        }
        if (coalesceMs > 0) await new Promise((r) => setTimeout(r, coalesceMs));
      }
    },
    cancel() {
      stop();
    },
  }, new CountQueuingStrategy({ highWaterMark: opts.bufferedChunks ?? 4 }));
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}

/** The `GET /events` route spec. */
export function eventRoutes(
  events: EventLog,
  streams: SseStreams,
  caps: ConnectionCaps,
  opts: SseOptions = {},
): RouteSpec[] {
  return [
    route({
      method: "get",
      path: "/events",
      summary:
        "Event stream: Server-Sent Events (resume with Last-Event-ID or ?after=ID), or a JSON page with ?format=json",
      auth: "read",
      tokenQuery: true,
      errors: ["too_many_connections", "busy"],
      response: z.array(ClusterEvent),
      media: {
        "text/event-stream":
          "Server-Sent Events (the default form): `id`, `event` (the type) and `data` (the event as JSON) per event, `: keep-alive` comments",
      },
      headers: {
        "Last-Event-ID":
          "SSE: resume after this event id (EventSource sends it on reconnect); wins over ?after",
      },
      query: {
        token: "read or admin token, for an EventSource (it cannot send headers)",
        format: "sse (default) or json",
        after: "resume after this event id (SSE: replay, then live; json: the page after it)",
        updates:
          "SSE only: `nodes` adds node updates (`event: node_updated`, no id): what changed in each node, heartbeats included",
        limit: `json only: most events returned (1-${MAX_JSON_LIMIT}, default 100)`,
      },
      handler: (c) => {
        const format = c.req.query("format") ?? "sse";
        const after = resumePoint(c);
        const updates = c.req.query("updates");
        if (updates !== undefined && updates !== "nodes") {
          throw new ClusterError("bad_request", `updates must be nodes, not "${updates}"`);
        }
        if (format === "json") {
          const limitText = c.req.query("limit") ?? "100";
          const limit = Number(limitText);
          if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > MAX_JSON_LIMIT) {
            throw new ClusterError(
              "bad_request",
              `limit must be a whole number from 1 to ${MAX_JSON_LIMIT}, not "${limitText}"`,
            );
          }
          return c.json(after === null ? events.latest(limit) : events.after(after, limit));
        }
        if (format !== "sse") {
          throw new ClusterError("bad_request", `format must be sse or json, not "${format}"`);
        }
        // HEAD gets the headers only: no feed is opened for a body nobody will read.
        if (c.req.method === "HEAD") {
          return new Response(null, { headers: { "content-type": "text/event-stream" } });
        }
        const release = acquireOrRefuse(caps, "event streams", remoteAddress(c));
        return sseResponse(events, after, streams, opts, release, updates === "nodes");
      },
    }),
  ];
}
