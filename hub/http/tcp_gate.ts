/**
 * The hub's public port: a TCP accept layer in front of `Deno.serve`.
 *
 * Why: `Deno.serve` (Deno 2.9.6) ends the server when its accept loop fails, e.g. with
 * `Too many open files (os error 24)` once idle connections use up the fd limit, and it has
 * no header-read or idle timeout (denoland/deno#3515, #10148, #25433). The gate owns the
 * accept loop and passes each connection, byte for byte, to the HTTP server listening on an
 * internal loopback port:
 *
 * - a failing `accept()` is logged (once per burst) and retried after a pause: it sheds load,
 *   it never ends the hub;
 * - connections are capped in all and per remote address (ConnectionCaps); the cap in all is
 *   also kept below what the process's fd limit (/proc/self/limits) allows, at three fds per
 *   connection (client, and both ends of the internal one). A connection over a cap gets a
 *   short `503 busy` or `429 too_many_connections` answer with `Retry-After`, then is closed;
 * - RequestClock's timeouts: a request must arrive within `requestTimeoutMs` (slowloris), a
 *   connection with no byte either way for `idleTimeoutMs` is closed.
 *
 * - the owners cannot be locked out: when the cap in all is near, a kept-alive connection idle
 *   between requests is shed first, from the address holding the most; when the public slots are
 *   full, a new connection's first request head is read (briefly, bounded) and a request with the
 *   admin token or an agent's heartbeat gets one of `limits.reserved` slots (gate_priority.ts);
 * - WebSocket messages are bounded here (ws_guard.ts): once a connection has switched to a
 *   WebSocket, the frame headers the client sends are read, and a message over the size limit
 *   (one frame or many fragments) or not finished in time closes the socket with 1009/1008
 *   before the hub buffers it.
 *
 * With `tls` the gate terminates TLS (Deno.listenTls) and passes the plain bytes on: REST,
 * WebSocket and SSE are all served over HTTPS by the one HTTP server behind it.
 *
 * The HTTP server learns the client's real address from `clientAddress(port)`: the internal
 * connection's local port identifies it. Requests that did not come through the gate (someone
 * on the hub found the internal port) have no entry and are refused by the caller.
 */
import { type CapLimits, type CapRefusal, ConnectionCaps } from "./connection_caps.ts";
import { RETRY_AFTER_SECONDS } from "./errors.ts";
import { type GatePriority, MAX_CLASSIFIED_HEAD } from "./gate_priority.ts";
import { type GateTimeouts, RequestClock } from "./request_clock.ts";
import {
  closeFrame,
  DEFAULT_WS_GUARD,
  FrameReader,
  type WsGuardLimits,
  WsMessageGuard,
  type WsViolation,
} from "./ws_guard.ts";

/** File descriptors one gated connection costs the hub. */
export const FDS_PER_CONNECTION = 3;
/** File descriptors kept free for everything else (Deno itself, store, netboot, agents). */
export const FD_RESERVE = 192;
/** Refusals being written at once; past this a refused connection is closed unanswered. */
const MAX_REFUSALS_IN_FLIGHT = 64;
/** Connections whose first head is read for a reserved slot at once (more are refused). */
const MAX_PROBATION = 64;
/** How long a connection on probation may take to send its first head, ms. */
const PROBATION_MS = 1000;
/** Idle this long between requests, a connection may be shed when the cap is near, ms. */
export const SHED_IDLE_MS = 500;

/** How the gate is set up. */
export interface GateOptions extends GateTimeouts {
  hostname: string;
  port: number;
  /** The internal HTTP server (loopback). */
  upstreamPort: number;
  limits: CapLimits;
  /** The process's open-file limit (default: read from /proc/self/limits). */
  nofile?: number;
  /** Where refusals and accept failures are reported (default console.error). */
  log?: (line: string) => void;
  /** WebSocket message limits (default DEFAULT_WS_GUARD). */
  ws?: WsGuardLimits;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

/** What the gate holds now and what it refused, for /metrics. */
export interface GateFigures {
  open: number;
  max: number;
  /** WebSockets open through the gate. */
  webSockets: number;
  /** Of those, sockets in the middle of a message, and the bytes of their unfinished messages. */
  wsAssembling: number;
  wsAssemblyBytes: number;
  /** The most one socket holds of an unfinished message now, bytes. */
  wsAssemblyMaxBytes: number;
  counts: Readonly<TcpGate["counts"]>;
}

/** One connection through the gate. */
interface Link {
  client: Deno.Conn<Deno.NetAddr>;
  upstream: Deno.Conn<Deno.NetAddr> | null;
  clock: RequestClock;
  release: () => void;
  closed: boolean;
  /** Once a WebSocket: the client's messages, and where the server's frames stand. */
  ws: WsMessageGuard | null;
  serverFrames: FrameReader | null;
  /** The 101 answer's head is still passing (its frames start after it). */
  serverInHead: boolean;
  /** Being closed for a WebSocket violation: the close frame to send. */
  wsClosing: WsViolation | null;
  /** Holds a reserved slot (admin token or heartbeat). */
  priority: GatePriority;
  /** Bytes read from the client before the link (its first head), sent upstream first. */
  preface: Uint8Array | null;
}

/** The soft open-file limit of this process, or null when it cannot be read. */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/self/limits");
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m) return null;
  return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/** The cap in all that `nofile` allows beside `configured`. */
export function connectionCapFor(configured: number, nofile: number | null): number {
  if (nofile === null) return configured;
  return Math.max(1, Math.min(configured, Math.floor((nofile - FD_RESERVE) / FDS_PER_CONNECTION)));
}

/** A short HTTP answer for a refused connection. */
function refusal(status: 429 | 503, code: string, message: string): Uint8Array {
  const body = JSON.stringify({ error: { code, message } });
  const reason = status === 429 ? "Too Many Requests" : "Service Unavailable";
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `retry-after: ${RETRY_AFTER_SECONDS}\r\nconnection: close\r\n` +
      `content-length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
  );
}

/** The public listener. */
export class TcpGate {
  readonly #listener: Deno.Listener<Deno.Conn<Deno.NetAddr>, Deno.NetAddr>;
  readonly #opts: GateOptions;
  readonly #caps: ConnectionCaps;
  readonly #links = new Set<Link>();
  /** Internal connection's local port → its link. */
  readonly #byPort = new Map<number, Link>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #log: (line: string) => void;
  #closed = false;
  #upstreamPort: number;
  #refusing = 0;
  #lastAcceptError = 0;
  #lastRefusalLog = 0;
  #classify: ((head: string) => GatePriority) | null = null;
  /** Connections whose first head is being read for a reserved slot. */
  readonly #probation = new Set<Deno.Conn<Deno.NetAddr>>();
  /** Connections refused or dropped since start, by reason (for tests and logs). */
  readonly counts = {
    refused: 0,
    requestTimeout: 0,
    idleTimeout: 0,
    acceptErrors: 0,
    /** WebSockets closed for a message over the limit (1009), late (1008), malformed (1002). */
    wsTooBig: 0,
    wsDeadline: 0,
    wsProtocol: 0,
    /** Idle kept-alive connections shed to make room. */
    shedIdle: 0,
    /** Connections let in on a reserved slot, by who. */
    reservedAdmin: 0,
    reservedAgent: 0,
  };
  readonly accepting: Promise<void>;

  /** Listens on `hostname:port` (throws Deno.errors.AddrInUse like Deno.serve). */
  constructor(opts: GateOptions) {
    this.#opts = opts;
    this.#upstreamPort = opts.upstreamPort;
    this.#log = opts.log ?? ((line) => console.error(line));
    // The reserved slots cost fds too: the fd limit caps public and reserved slots together.
    // Under a low fd limit the reserve shrinks with the cap (to an eighth of it at most).
    const wanted = opts.limits.max + (opts.limits.reserved ?? 0);
    const all = connectionCapFor(wanted, opts.nofile ?? openFileLimit());
    const reserved = all < wanted
      ? Math.min(opts.limits.reserved ?? 0, Math.floor(all / 8))
      : opts.limits.reserved ?? 0;
    const max = Math.max(1, Math.min(opts.limits.max, all - reserved));
    this.#caps = new ConnectionCaps({ ...opts.limits, max, reserved });
    this.#listener = opts.tls
      ? Deno.listenTls({ hostname: opts.hostname, port: opts.port, ...opts.tls })
      : Deno.listen({ hostname: opts.hostname, port: opts.port });
    this.#sweep = setInterval(() => this.#checkClocks(), 250);
    this.accepting = this.#acceptLoop();
  }

  /** Where the gate listens. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** The caps in force (the cap in all after the fd limit). */
  get limits(): Required<CapLimits> {
    return this.#caps.limits;
  }

  /** Connections open now. */
  get open(): number {
    return this.#links.size;
  }

  /** What the gate holds now, and its counts. */
  get figures(): GateFigures {
    let webSockets = 0, wsAssembling = 0, wsAssemblyBytes = 0, wsAssemblyMaxBytes = 0;
    for (const link of this.#links) {
      if (!link.ws) continue;
      webSockets++;
      if (link.ws.assembling) wsAssembling++;
      wsAssemblyBytes += link.ws.assemblyBytes;
      wsAssemblyMaxBytes = Math.max(wsAssemblyMaxBytes, link.ws.assemblyBytes);
    }
    return {
      open: this.#links.size,
      max: this.#caps.limits.max,
      webSockets,
      wsAssembling,
      wsAssemblyBytes,
      wsAssemblyMaxBytes,
      counts: { ...this.counts },
    };
  }

  /**
   * Who may use the reserved slots (gate_priority.ts `classifyHead`); until set, a connection
   * over the public cap is refused at once.
   */
  setPriority(classify: (head: string) => GatePriority): void {
    this.#classify = classify;
  }

  /** Sends new connections to another internal port (the HTTP server was restarted). */
  retarget(upstreamPort: number): void {
    this.#upstreamPort = upstreamPort;
  }

  /** The client address behind an internal connection, by its local port. */
  clientAddress(internalPort: number): Deno.NetAddr | undefined {
    return this.#byPort.get(internalPort)?.client.remoteAddr;
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn<Deno.NetAddr>;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed) return;
        // EMFILE/ENFILE and friends: the connection stays in the kernel's queue; wait a
        // moment for fds to come back (timeouts, clients leaving) instead of spinning.
        this.counts.acceptErrors++;
        const now = Date.now();
        if (now - this.#lastAcceptError > 10_000) {
          this.#log(
            `hub: cannot accept a connection (${
              e instanceof Error ? e.message : e
            }); shedding load, retrying`,
          );
        }
        this.#lastAcceptError = now;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(client: Deno.Conn<Deno.NetAddr>): void {
    const address = client.remoteAddr.hostname;
    this.#shedIfNear();
    const got = this.#caps.acquire(address);
    if (got.ok) return this.#open(client, got.release, null, null);
    if (this.#classify) {
      this.#onProbation(client, address, got.refused).catch(() => this.#close(client));
      return;
    }
    this.#refuse(client, address, got.refused);
  }

  #close(client: Deno.Conn<Deno.NetAddr>): void {
    try {
      client.close();
    } catch { /* closed */ }
  }

  /** Answers a connection over a cap with 429/503 and closes it. */
  #refuse(client: Deno.Conn<Deno.NetAddr>, address: string, why: CapRefusal): void {
    this.counts.refused++;
    const now = Date.now();
    if (now - this.#lastRefusalLog > 10_000) {
      this.#lastRefusalLog = now;
      this.#log(
        `hub: refusing connections (${
          why === "address" ? `${address} holds its share` : "the hub is full"
        }: ${this.#caps.total} open)`,
      );
    }
    const answer = why === "address"
      ? refusal(
        429,
        "too_many_connections",
        `${address} already holds ${this.#caps.limits.perAddress} connections, the most one address may`,
      )
      : refusal(
        503,
        "busy",
        `the hub holds ${this.#caps.limits.max} connections, the most it allows`,
      );
    // Each refusal holds its fd until written: only a few at once, the rest closed unanswered.
    if (this.#refusing >= MAX_REFUSALS_IN_FLIGHT) return this.#close(client);
    this.#refusing++;
    const written = () => {
      this.#refusing--;
      this.#close(client);
    };
    client.write(answer).then(written, written);
  }

  /** Near the cap in all (within 5 %), sheds one idle connection to make room. */
  #shedIfNear(): void {
    const { max } = this.#caps.limits;
    const headroom = Math.max(1, Math.floor(max * 0.05));
    if (this.#caps.total >= max - headroom) this.#shedIdle();
  }

  /**
   * Sheds one kept-alive connection idle between requests (no request is lost): from the
   * address holding the most connections, the one idle longest; one on a reserved slot only
   * when no other is idle. False if none is.
   */
  #shedIdle(): boolean {
    const now = Date.now();
    let best: Link | null = null, bestKey: number[] = [];
    for (const link of this.#links) {
      if (link.ws || !link.clock.betweenRequests) continue;
      const idle = link.clock.idleMs(now);
      if (idle < SHED_IDLE_MS) continue;
      const key = [
        link.priority === null ? 1 : 0,
        this.#caps.from(link.client.remoteAddr.hostname),
        idle,
      ];
      if (
        best === null || key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1]) ||
        (key[0] === bestKey[0] && key[1] === bestKey[1] && key[2] > bestKey[2])
      ) {
        [best, bestKey] = [link, key];
      }
    }
    if (!best) return false;
    this.counts.shedIdle++;
    this.#drop(best);
    return true;
  }

  /**
   * The public slots are full: reads the connection's first request head (bounded in size and
   * time) and lets it in on a reserved slot if it carries the admin token or is a heartbeat.
   */
  async #onProbation(
    client: Deno.Conn<Deno.NetAddr>,
    address: string,
    why: CapRefusal,
  ): Promise<void> {
    if (this.#probation.size >= MAX_PROBATION) return this.#refuse(client, address, why);
    this.#probation.add(client);
    const head = new Uint8Array(MAX_CLASSIFIED_HEAD);
    let have = 0, end = -1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), PROBATION_MS));
    try {
      while (end < 0 && have < head.length) {
        // A read still pending when time is up ends when the refusal closes the connection.
        const n = await Promise.race([client.read(head.subarray(have)).catch(() => null), late]);
        if (n === null || n === "late") break;
        have += n;
        end = headEnd(head.subarray(0, have));
      }
    } finally {
      clearTimeout(timer);
      this.#probation.delete(client);
    }
    if (this.#closed) return this.#close(client);
    const text = new TextDecoder().decode(head.subarray(0, end < 0 ? have : end));
    const priority = end < 0 ? null : this.#classify!(text);
    let got = priority === null ? null : this.#caps.acquire(address, true);
    // The reserve is full too: an idle connection (strangers' first, a reserved one last) goes.
    if (got?.ok === false && this.#shedIdle()) got = this.#caps.acquire(address, true);
    if (!got?.ok) return this.#refuse(client, address, got?.refused ?? why);
    if (priority === "admin") this.counts.reservedAdmin++;
    else this.counts.reservedAgent++;
    this.#open(client, got.release, head.slice(0, have), priority);
  }

  #open(
    client: Deno.Conn<Deno.NetAddr>,
    release: () => void,
    preface: Uint8Array | null,
    priority: GatePriority,
  ): void {
    const link: Link = {
      client,
      upstream: null,
      clock: new RequestClock(Date.now()),
      release,
      closed: false,
      ws: null,
      serverFrames: null,
      serverInHead: false,
      wsClosing: null,
      priority,
      preface,
    };
    this.#links.add(link);
    this.#connect(link).catch(() => this.#drop(link));
  }

  async #connect(link: Link): Promise<void> {
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#upstreamPort });
    if (link.closed) {
      upstream.close();
      return;
    }
    link.upstream = upstream;
    this.#byPort.set(upstream.localAddr.port, link);
    const t = this.#opts;
    if (link.preface) {
      // The head read on probation goes first.
      const preface = link.preface;
      link.preface = null;
      this.#fromClient(link, preface, t);
      let off = 0;
      while (off < preface.length) off += await upstream.write(preface.subarray(off));
    }
    let ended = 0;
    const oneWayDone = () => {
      if (++ended === 2) this.#drop(link);
    };
    this.#pipe(link.client, upstream, (chunk) => this.#fromClient(link, chunk, t))
      .then(oneWayDone, () => link.wsClosing ? undefined : this.#drop(link));
    this.#pipe(upstream, link.client, (chunk) => this.#fromServer(link, chunk))
      .then(
        () => link.wsClosing ? this.#sendClose(link) : oneWayDone(),
        () => link.wsClosing ? this.#sendClose(link) : this.#drop(link),
      );
  }

  /** A client chunk: its clock, and on a WebSocket its frames; false stops the copy. */
  #fromClient(link: Link, chunk: Uint8Array, t: GateTimeouts): boolean {
    const now = Date.now();
    link.clock.fromClient(chunk, now, t);
    if (link.wsClosing) return false;
    const refused = link.ws?.fromClient(chunk, now) ?? null;
    if (refused) this.#refuseWs(link, refused);
    return refused === null;
  }

  /** A server chunk: its clock; at the `101`, the WebSocket's guard starts. */
  #fromServer(link: Link, chunk: Uint8Array): boolean {
    if (link.wsClosing) return false;
    const wasTunnel = link.clock.tunnel;
    link.clock.fromServer(chunk, Date.now());
    if (!wasTunnel && link.clock.tunnel) {
      link.ws = new WsMessageGuard(this.#opts.ws ?? DEFAULT_WS_GUARD);
      link.serverFrames = new FrameReader();
      link.serverInHead = true;
      // What the client sent before the 101 are the socket's first frames.
      const early = link.clock.takeEarly();
      const refused: WsViolation | null = early === "overflow"
        ? { code: 1002, reason: "frames sent before the handshake finished" }
        : early.reduce<WsViolation | null>((v, c) => v ?? link.ws!.fromClient(c, Date.now()), null);
      // The 101 itself still passes; the close follows it.
      if (refused) queueMicrotask(() => this.#refuseWs(link, refused));
    }
    if (link.serverFrames) {
      let frames = chunk;
      if (link.serverInHead) {
        const end = headEnd(chunk);
        if (end < 0) return true;
        link.serverInHead = false;
        frames = chunk.subarray(end);
      }
      link.serverFrames.push(frames);
    }
    return true;
  }

  /** Closes a WebSocket for a violation: the hub's side at once, the client gets a close frame. */
  #refuseWs(link: Link, v: WsViolation): void {
    if (link.wsClosing || link.closed) return;
    link.wsClosing = v;
    if (v.code === 1009) this.counts.wsTooBig++;
    else if (v.code === 1008) this.counts.wsDeadline++;
    else this.counts.wsProtocol++;
    // The server's session ends (and frees what it assembled); its copy to the client stops
    // and then sends the close frame (#sendClose). A client that does not read is dropped.
    try {
      link.upstream?.close();
    } catch { /* closed */ }
    setTimeout(() => this.#drop(link), 2000);
  }

  #sendClose(link: Link): void {
    const v = link.wsClosing;
    if (link.closed || !v) return this.#drop(link);
    // A close frame only between two of the server's frames; mid-frame the connection just ends.
    if (!link.serverFrames?.atBoundary || link.serverInHead) return this.#drop(link);
    const done = () => this.#drop(link);
    link.client.write(closeFrame(v)).then(done, done);
  }

  /** Copies `from` → `to` until EOF (then half-closes `to`), or until `seen` says stop. */
  async #pipe(from: Deno.Conn, to: Deno.Conn, seen: (c: Uint8Array) => boolean) {
    const buf = new Uint8Array(16 * 1024);
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      const chunk = buf.subarray(0, n);
      if (!seen(chunk)) return;
      let off = 0;
      while (off < n) off += await to.write(chunk.subarray(off));
    }
    await to.closeWrite().catch(() => {});
  }

  #drop(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    this.#links.delete(link);
    for (const c of [link.client, link.upstream]) {
      try {
        c?.close();
      } catch { /* closed */ }
    }
    if (link.upstream) {
      // The HTTP server may still be finishing this request: forget the port a bit later.
      const port = link.upstream.localAddr.port;
      setTimeout(() => {
        if (this.#byPort.get(port) === link) this.#byPort.delete(port);
      }, 5_000);
    }
    link.release();
  }

  #checkClocks(): void {
    const now = Date.now();
    for (const link of this.#links) {
      const late = link.ws?.overdue(now);
      if (late) this.#refuseWs(link, late);
      const why = link.clock.overdue(now, this.#opts);
      if (why === null) continue;
      if (why === "request") this.counts.requestTimeout++;
      else this.counts.idleTimeout++;
      this.#drop(link);
    }
  }

  /** Stops accepting new connections; open ones go on (graceful shutdown). */
  stopAccepting(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.stopAccepting();
    clearInterval(this.#sweep);
    for (const c of this.#probation) this.#close(c);
    this.#probation.clear();
    for (const link of [...this.#links]) this.#drop(link);
    await this.accepting;
  }
}

/** The index just past a response head's blank line in `chunk`, or -1. */
function headEnd(chunk: Uint8Array): number {
  for (let i = 3; i < chunk.length; i++) {
    if (chunk[i] === 10 && chunk[i - 1] === 13 && chunk[i - 2] === 10 && chunk[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}
