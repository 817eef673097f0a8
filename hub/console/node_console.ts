/**
 * One node's console in the hub: the link to its source, its history, and the viewers
 * attached to it. Output goes into the history and to every viewer; a viewer whose
 * connection does not keep up (more than `maxViewerBufferBytes` unsent) is disconnected
 * rather than buffered without end, so a slow viewer never holds up the console or the
 * others. At most one viewer is the writer; another takes the role only by asking
 * (`takeover`). Attach, detach and takeover go into the event log with who did it.
 */
import type { Clock } from "../../shared/clock.ts";
import type {
  ConsoleHistory,
  ConsoleRole,
  ConsoleServerFrame,
  ConsoleSourceStatus,
} from "../../shared/console_schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import type { EventType } from "../../shared/schemas.ts";
import { ConsoleLink, type LinkBackoff } from "./console_link.ts";
import type { ConsoleLog } from "./console_log.ts";
import type { ConsoleSource } from "./console_source.ts";

/** Limits of one node's console. */
export interface ConsoleLimits extends LinkBackoff {
  /** Viewers per node (default 8). */
  maxViewers?: number;
  /** Unsent bytes a viewer may have queued before it is disconnected (default 1 MiB). */
  maxViewerBufferBytes?: number;
  /** Input bytes waiting for the line before more input is refused (default 64 KiB). */
  maxPendingInputBytes?: number;
}

/** Where a viewer's frames go: a WebSocket, or a fake in tests. */
export interface ConsolePeer {
  /** Sends console output (a binary frame). */
  sendBytes(data: Uint8Array): void;
  /** Sends a JSON control frame. */
  sendFrame(frame: ConsoleServerFrame): void;
  /** Bytes queued for sending and not yet written to the network. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

/** Who a viewer is, for the audit trail. */
export interface ViewerIdentity {
  /** Which token authenticated it (a fingerprint, never the token). */
  token: string;
  /** Remote address, e.g. "127.0.0.1:51234". */
  peer: string;
  /** What the client says it is ("cm", "dashboard", …). */
  client: string;
}

/** Records an audit event. */
export type ConsoleEmit = (
  type: EventType,
  node: number,
  message: string,
  data: Record<string, unknown>,
) => void;

/** One attached viewer, as its connection handler sees it. */
export interface ConsoleViewer {
  readonly id: number;
  readonly role: ConsoleRole;
  /** Sends typed input to the node. Throws `forbidden` for a read-only viewer. */
  input(data: Uint8Array): void;
  /** Takes the writer role (the previous writer becomes a viewer and is told). */
  takeover(): void;
  /** Gives the writer role up. */
  release(): void;
  /** Records the viewer's terminal size (the writer's is passed to the source). */
  resize(cols: number, rows: number): void;
  /** Detaches (the connection closed). Idempotent. */
  detach(reason?: string): void;
}

/** Options of {@link NodeConsole.attach}. */
export interface AttachOptions {
  /** Ask for the writer role (granted when free). */
  write: boolean;
  /** Lines of history to replay first (default 200). */
  historyLines?: number;
}

let nextViewerId = 1;

class Viewer implements ConsoleViewer {
  readonly id = nextViewerId++;
  role: ConsoleRole = "viewer";
  size: { cols: number; rows: number } | null = null;
  detached = false;

  constructor(
    readonly peer: ConsolePeer,
    readonly who: ViewerIdentity,
    readonly owner: NodeConsole,
  ) {}

  input(data: Uint8Array): void {
    this.owner.input(this, data);
  }
  takeover(): void {
    this.owner.takeover(this);
  }
  release(): void {
    this.owner.release(this);
  }
  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    this.owner.resized(this);
  }
  detach(reason = "closed"): void {
    this.owner.detach(this, reason);
  }
}

/** A node's console: source link, history, viewers. */
export class NodeConsole {
  readonly node: number;
  readonly #log: ConsoleLog;
  readonly #link: ConsoleLink;
  readonly #clock: Clock;
  readonly #emit: ConsoleEmit;
  readonly #viewers = new Set<Viewer>();
  readonly #maxViewers: number;
  readonly #maxViewerBuffer: number;
  readonly #maxPendingInput: number;
  #writer: Viewer | null = null;
  /** The source's last connection state seen, to log only transitions. */
  #wasConnected: boolean | null = null;

  constructor(
    node: number,
    source: ConsoleSource,
    log: ConsoleLog,
    deps: { clock: Clock; emit: ConsoleEmit },
    limits: ConsoleLimits = {},
  ) {
    this.node = node;
    this.#log = log;
    this.#clock = deps.clock;
    this.#emit = deps.emit;
    this.#maxViewers = limits.maxViewers ?? 8;
    this.#maxViewerBuffer = limits.maxViewerBufferBytes ?? 1024 * 1024;
    this.#maxPendingInput = limits.maxPendingInputBytes ?? 64 * 1024;
    this.#link = new ConsoleLink(
      source,
      {
        data: (chunk) => this.#output(chunk),
        status: (s) => this.#sourceStatus(s),
      },
      deps.clock,
      limits,
    );
  }

  /** Whether the last byte out ended mid-line (a mark then starts a new line). */
  #midLine = false;

  /** Starts capturing. */
  start(): void {
    this.#link.start();
  }

  get source(): ConsoleSourceStatus {
    return this.#link.status;
  }

  /** The most viewers this console takes. */
  get maxViewers(): number {
    return this.#maxViewers;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  /** History and state (`GET /nodes/:id/console`). */
  history(lines: number): ConsoleHistory {
    return {
      node: this.node,
      source: this.source,
      bytes: this.#log.bytes,
      viewers: this.#viewers.size,
      writer: this.#writer !== null,
      lines: this.#log.tail(lines),
    };
  }

  /**
   * Writes a line of the hub's own into the history and to every viewer, on a line of its
   * own (e.g. the marker where a new boot begins).
   */
  mark(text: string): void {
    this.#output(new TextEncoder().encode(`${this.#midLine ? "\r\n" : ""}${text}\r\n`));
  }

  #output(chunk: Uint8Array): void {
    if (chunk.length > 0) this.#midLine = chunk[chunk.length - 1] !== 0x0a;
    this.#log.append(this.#clock.now(), chunk);
    for (const v of this.#viewers) this.#deliver(v, chunk);
  }

  /** Sends to one viewer unless it has fallen too far behind; then it is disconnected. */
  #deliver(v: Viewer, chunk: Uint8Array): void {
    if (v.detached) return;
    if (v.peer.bufferedAmount + chunk.length > this.#maxViewerBuffer) {
      const reason = `viewer too slow: more than ${this.#maxViewerBuffer} bytes unsent`;
      try {
        v.peer.close(1013, reason);
      } catch { /* already closed */ }
      this.detach(v, reason);
      return;
    }
    try {
      v.peer.sendBytes(chunk);
    } catch {
      this.detach(v, "connection failed");
    }
  }

  #frame(v: Viewer, frame: ConsoleServerFrame): void {
    if (v.detached) return;
    try {
      v.peer.sendFrame(frame);
    } catch {
      this.detach(v, "connection failed");
    }
  }

  #sourceStatus(s: ConsoleSourceStatus): void {
    for (const v of this.#viewers) this.#frame(v, { type: "source", source: s });
    if (this.#wasConnected === s.connected) return;
    const first = this.#wasConnected === null;
    this.#wasConnected = s.connected;
    if (first && s.connected) return; // the normal start: nothing to report
    this.#emit(
      "console_source",
      this.node,
      s.connected
        ? `console of node ${this.node} connected (${s.describe})`
        : `console of node ${this.node} lost (${s.describe}): ${s.lastError ?? "disconnected"}`,
      { connected: s.connected, source: s.describe, error: s.lastError },
    );
  }

  #audit(type: EventType, v: Viewer, message: string, extra: Record<string, unknown> = {}) {
    this.#emit(type, this.node, message, {
      session: v.id,
      token: v.who.token,
      peer: v.who.peer,
      client: v.who.client,
      role: v.role,
      ...extra,
    });
  }

  /**
   * Attaches a viewer: hello, `historyLines` of history, then live output. Throws `conflict`
   * when the node has `maxViewers` already.
   */
  attach(peer: ConsolePeer, who: ViewerIdentity, opts: AttachOptions): ConsoleViewer {
    if (this.#viewers.size >= this.#maxViewers) {
      throw new ClusterError(
        "conflict",
        `node ${this.node}'s console has ${this.#viewers.size} viewers already (the most); close one first`,
      );
    }
    const v = new Viewer(peer, who, this);
    let reason: string | undefined;
    if (opts.write && this.#writer === null) {
      v.role = "writer";
      this.#writer = v;
    } else if (opts.write) {
      const w = this.#writer!;
      reason =
        `read-only: session ${w.id} (${w.who.client} from ${w.who.peer}) is typing; take over to type`;
    }
    this.#viewers.add(v);
    this.#frame(v, {
      type: "hello",
      node: this.node,
      source: this.source,
      role: v.role,
      viewers: this.#viewers.size,
      ...(reason ? { reason } : {}),
    });
    const history = this.#log.tailBytes(opts.historyLines ?? 200);
    if (history.length > 0) this.#deliver(v, history);
    this.#frame(v, { type: "live" });
    this.#audit(
      "console_attach",
      v,
      `${who.client} attached to node ${this.node}'s console as ${v.role} (${who.peer})`,
    );
    return v;
  }

  input(v: Viewer, data: Uint8Array): void {
    if (v.detached) return;
    if (this.#writer !== v) {
      throw new ClusterError(
        "forbidden",
        "this console session is read-only; send takeover to type (the writer is told)",
      );
    }
    this.#link.write(data, this.#maxPendingInput);
  }

  /** A viewer's window changed: the writer's size goes to the source. */
  resized(v: Viewer): void {
    if (this.#writer === v && v.size) this.#link.resize(v.size.cols, v.size.rows);
  }

  takeover(v: Viewer): void {
    if (v.detached || this.#writer === v) return;
    const previous = this.#writer;
    if (previous) {
      previous.role = "viewer";
      this.#frame(previous, {
        type: "role",
        role: "viewer",
        reason: `session ${v.id} (${v.who.client} from ${v.who.peer}) took over; read-only now`,
      });
    }
    v.role = "writer";
    this.#writer = v;
    this.resized(v);
    this.#frame(v, { type: "role", role: "writer", reason: "took over: you may type" });
    this.#audit(
      "console_takeover",
      v,
      `${v.who.client} (${v.who.peer}) took over node ${this.node}'s console${
        previous ? ` from session ${previous.id}` : ""
      }`,
      { from: previous ? previous.id : null },
    );
  }

  release(v: Viewer): void {
    if (v.detached || this.#writer !== v) return;
    this.#writer = null;
    v.role = "viewer";
    this.#frame(v, { type: "role", role: "viewer", reason: "released: read-only now" });
  }

  detach(v: Viewer, reason: string): void {
    if (v.detached) return;
    v.detached = true;
    this.#viewers.delete(v);
    if (this.#writer === v) this.#writer = null;
    this.#audit(
      "console_detach",
      v,
      `${v.who.client} detached from node ${this.node}'s console (${reason})`,
      { reason },
    );
  }

  /** Closes every viewer and the source link. */
  async close(): Promise<void> {
    for (const v of [...this.#viewers]) {
      try {
        v.peer.close(1001, "hub shutting down");
      } catch { /* already closed */ }
      this.detach(v, "hub shutting down");
    }
    await this.#link.close();
    this.#log.close();
  }
}
