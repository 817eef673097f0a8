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
 * With `tls` the gate terminates TLS (Deno.listenTls) and passes the plain bytes on: REST,
 * WebSocket and SSE are all served over HTTPS by the one HTTP server behind it.
 *
 * The HTTP server learns the client's real address from `clientAddress(port)`: the internal
 * connection's local port identifies it. Requests that did not come through the gate (someone
 * on the hub found the internal port) have no entry and are refused by the caller.
 */
import { type CapLimits, ConnectionCaps } from "./connection_caps.ts";
import { RETRY_AFTER_SECONDS } from "./middleware/errors.ts";
import { type GateTimeouts, RequestClock } from "./request_clock.ts";

/** File descriptors one gated connection costs the hub. */
export const FDS_PER_CONNECTION = 3;
/** File descriptors kept free for everything else (Deno itself, store, netboot, agents). */
export const FD_RESERVE = 192;
/** Refusals being written at once; past this a refused connection is closed unanswered. */
const MAX_REFUSALS_IN_FLIGHT = 64;

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
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

/** One connection through the gate. */
interface Link {
  client: Deno.Conn<Deno.NetAddr>;
  upstream: Deno.TcpConn | null;
  clock: RequestClock;
  release: () => void;
  closed: boolean;
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
  /** Connections refused or dropped since start, by reason (for tests and logs). */
  readonly counts = { refused: 0, requestTimeout: 0, idleTimeout: 0, acceptErrors: 0 };
  readonly accepting: Promise<void>;

  /** Listens on `hostname:port` (throws Deno.errors.AddrInUse like Deno.serve). */
  constructor(opts: GateOptions) {
    this.#opts = opts;
    this.#upstreamPort = opts.upstreamPort;
    this.#log = opts.log ?? ((line) => console.error(line));
    const max = connectionCapFor(opts.limits.max, opts.nofile ?? openFileLimit());
    this.#caps = new ConnectionCaps({ ...opts.limits, max });
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
    const got = this.#caps.acquire(address);
    if (!got.ok) {
      this.counts.refused++;
      const now = Date.now();
      if (now - this.#lastRefusalLog > 10_000) {
        this.#lastRefusalLog = now;
        this.#log(
          `hub: refusing connections (${
            got.refused === "address" ? `${address} holds its share` : "the hub is full"
          }: ${this.#caps.total} open)`,
        );
      }
      const answer = got.refused === "address"
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
      const close = () => {
        try {
          client.close();
        } catch { /* closed */ }
      };
      // Each refusal holds its fd until written: only a few at once, the rest closed unanswered.
      if (this.#refusing >= MAX_REFUSALS_IN_FLIGHT) return close();
      this.#refusing++;
      client.write(answer).catch(() => {}).finally(() => {
        this.#refusing--;
        close();
      });
      return;
    }
    const link: Link = {
      client,
      upstream: null,
      clock: new RequestClock(Date.now()),
      release: got.release,
      closed: false,
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
    let ended = 0;
    const oneWayDone = () => {
      if (++ended === 2) this.#drop(link);
    };
    const t = this.#opts;
    this.#pipe(link.client, upstream, (chunk) => link.clock.fromClient(chunk, Date.now(), t))
      .then(oneWayDone, () => this.#drop(link));
    this.#pipe(upstream, link.client, (chunk) => link.clock.fromServer(chunk, Date.now()))
      .then(oneWayDone, () => this.#drop(link));
  }

  /** Copies `from` → `to` until EOF (then half-closes `to`); throws on an error. */
  async #pipe(from: Deno.Conn, to: Deno.Conn, seen: (c: Uint8Array) => void) {
    const buf = new Uint8Array(16 * 1024);
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      const chunk = buf.subarray(0, n);
      seen(chunk);
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
    for (const link of [...this.#links]) this.#drop(link);
    await this.accepting;
  }
}
