/**
 * Node consoles over HTTP, admin token only (consoles show secrets):
 * - `GET /api/v1/nodes/:id/console?lines=N`: the newest lines of history, with timestamps.
 * - `GET /api/v1/nodes/:id/console/ws`: a WebSocket: a `hello` frame, the history, a `live`
 *   frame, then live output. Output and typed input are binary frames; control frames
 *   (input as text, takeover, release, resize; hello, role, source, error) are JSON text
 *   (shared/console_schemas.ts). The token comes as `Authorization: Bearer …` or, for
 *   browsers, `?token=`.
 */
import type { Context } from "hono";
import { getConnInfo } from "hono/deno";
import { createHash } from "node:crypto";
import {
  ConsoleClientFrame,
  ConsoleHistory,
  type ConsoleServerFrame,
} from "../../../shared/console_schemas.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { parseIntFlag } from "../../../shared/int_flag.ts";
import { bearerToken } from "../../auth/secrets.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { type Consoles, DEFAULT_HISTORY_LINES, MAX_HISTORY_LINES } from "../../console/consoles.ts";
import type { ConsolePeer, ConsoleViewer } from "../../console/node_console.ts";
import { decodeJson, FRAME } from "../decode_json.ts";
import { toClusterError } from "../errors.ts";
import { route, type RouteSpec } from "../route.ts";

/** Largest input frame (binary bytes or JSON characters). */
export const MAX_CONSOLE_FRAME = 64 * 1024;

/** What the console routes call. */
export interface ConsoleRouteDeps {
  status: NodeStatusReader;
  consoles: Consoles;
}

/** `admin:1a2b3c4d`: which token it was, without the token (SHA-256, first 8 hex digits). */
export function tokenFingerprint(token: string): string {
  return `admin:${createHash("sha256").update(token).digest("hex").slice(0, 8)}`;
}

function lines(c: Context): number {
  const text = c.req.query("lines");
  return text === undefined
    ? DEFAULT_HISTORY_LINES
    : parseIntFlag("lines", text, 0, MAX_HISTORY_LINES);
}

/** The remote address, when the request came over a connection (not app.request). */
function peerAddress(c: Context): string {
  if (!(c.env as { remoteAddr?: unknown } | undefined)?.remoteAddr) return "in-process";
  const r = getConnInfo(c).remote;
  return r.address === undefined ? "unknown" : `${r.address}:${r.port ?? ""}`;
}

function clientName(c: Context): string {
  const name = c.req.query("client") ?? "client";
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) {
    throw new ClusterError("bad_request", "client must be 1–32 letters, digits, '.', '_' or '-'");
  }
  return name;
}

function wantsWrite(c: Context): boolean {
  const mode = c.req.query("mode") ?? "write";
  if (mode !== "write" && mode !== "read") {
    throw new ClusterError("bad_request", `mode must be read or write, not "${mode}"`);
  }
  return mode === "write";
}

/** Handles one frame from a console client; errors become error frames. */
export function handleConsoleMessage(
  viewer: ConsoleViewer,
  data: unknown,
  reply: (frame: ConsoleServerFrame) => void,
): void {
  try {
    if (typeof data === "string") {
      const frame = decodeJson(ConsoleClientFrame, data, MAX_CONSOLE_FRAME, FRAME);
      switch (frame.type) {
        case "input":
          return viewer.input(new TextEncoder().encode(frame.data));
        case "takeover":
          return viewer.takeover();
        case "release":
          return viewer.release();
        case "resize":
          return viewer.resize(frame.cols, frame.rows);
      }
    }
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : data instanceof Uint8Array
      ? data
      : null;
    if (!bytes) throw new ClusterError("invalid_body", "frames must be binary input or JSON text");
    if (bytes.length > MAX_CONSOLE_FRAME) {
      throw new ClusterError(
        "payload_too_large",
        `input frames are limited to ${MAX_CONSOLE_FRAME} bytes`,
      );
    }
    viewer.input(bytes);
  } catch (e) {
    const err = toClusterError(e);
    reply({ type: "error", error: { code: err.code, message: err.message } });
  }
}

/** The console route specs. */
export function consoleRoutes(deps: ConsoleRouteDeps): RouteSpec[] {
  const { status, consoles } = deps;
  const nodeParam = (c: Context) => status.nodeId(c.req.param("id") ?? "");
  return [
    route({
      method: "get",
      path: "/nodes/:id/console",
      summary: "Console history of one node: the newest lines, with the time each began",
      auth: "admin",
      response: ConsoleHistory,
      query: {
        lines: `lines to return (default ${DEFAULT_HISTORY_LINES}, at most ${MAX_HISTORY_LINES})`,
      },
      errors: ["invalid_range", "not_found"],
      handler: (c) => c.json(consoles.history(nodeParam(c), lines(c))),
    }),
    route({
      method: "get",
      path: "/nodes/:id/console/ws",
      summary:
        "Node console as a WebSocket (upgrade): history, then live; binary frames carry bytes, see docs/console.md",
      auth: "admin",
      tokenQuery: true,
      status: 101,
      query: {
        lines: `history lines replayed first (default ${DEFAULT_HISTORY_LINES})`,
        mode: "write (default: type if no one else is) or read (read-only)",
        client: "a name for the audit trail, e.g. cm or dashboard",
        token: "admin token, for clients that cannot send an Authorization header",
      },
      errors: ["invalid_range", "not_found", "conflict"],
      handler: (c) => {
        const node = nodeParam(c);
        const nc = consoles.console(node);
        const history = lines(c);
        const write = wantsWrite(c);
        const client = clientName(c);
        if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
          throw new ClusterError(
            "bad_request",
            "this is a WebSocket endpoint: connect with a WebSocket client (cm console, the dashboard; docs/console.md)",
          );
        }
        if (nc.viewerCount >= nc.maxViewers) {
          throw new ClusterError(
            "conflict",
            `node ${node}'s console has ${nc.viewerCount} viewers already (the most); close one first`,
          );
        }
        const token = bearerToken(c.req.header("authorization")) ?? c.req.query("token") ?? "";
        const who = { token: tokenFingerprint(token), peer: peerAddress(c), client };
        const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
        socket.binaryType = "arraybuffer";
        const peer: ConsolePeer = {
          sendBytes: (d) => socket.send(d),
          sendFrame: (f) => socket.send(JSON.stringify(f)),
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
          close: (code, reason) => socket.close(code, reason),
        };
        let viewer: ConsoleViewer | null = null;
        socket.onopen = () => {
          try {
            viewer = nc.attach(peer, who, { write, historyLines: history });
          } catch (e) {
            const err = toClusterError(e);
            peer.sendFrame({ type: "error", error: { code: err.code, message: err.message } });
            socket.close(1013, err.message.slice(0, 120));
          }
        };
        socket.onmessage = (e) => {
          if (viewer) handleConsoleMessage(viewer, e.data, peer.sendFrame);
        };
        socket.onclose = () => viewer?.detach("closed by the client");
        socket.onerror = () => viewer?.detach("connection error");
        return response;
      },
    }),
  ];
}
