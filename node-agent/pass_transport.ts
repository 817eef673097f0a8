/**
 * The heartbeat's transport in two halves, for the agent's heartbeat pass (reporter.ts): a
 * request is sent now, synchronously, and its answer collected at a later pass without
 * blocking. One kept-alive HTTP/1.1 connection over a {@link SyncSocket} (plain http: only),
 * opened when a request is due and none is open; the framing is keep_alive.ts's.
 */
import {
  type FixedHeaders,
  frameAnswer,
  MAX_REPLY_BYTES,
  type PostAnswer,
  requestEncoder,
} from "./keep_alive.ts";
import type { SocketConnector, SyncSocket } from "./sync_socket.ts";

/** One request at a time: {@link send} it, then {@link poll} until its answer is complete. */
export interface PassTransport {
  /**
   * Sends one request, blocking at most the connect timeout (a new connection) and the send
   * timeout. Throws when it cannot (the connection is then dropped).
   */
  send(body: string): void;
  /**
   * The answer to the request sent, once it is complete; undefined while it is not (yet)
   * there. Never blocks. Throws when the connection failed or the answer is malformed (the
   * connection is then dropped).
   */
  poll(): PostAnswer | undefined;
  /** Drops the connection (an answer still to come is forgotten). */
  close(): void;
}

/** {@link PassTransport} over one kept-alive connection of a {@link SocketConnector}. */
export class SocketPassTransport implements PassTransport {
  readonly #host: string;
  readonly #port: number;
  readonly #connect: SocketConnector;
  readonly #connectTimeoutMs: number;
  readonly #encode: (body: string) => Uint8Array;
  #socket: SyncSocket | undefined;
  #buf = new Uint8Array(1024);
  #len = 0;
  #waiting = false;

  /**
   * `url`: the heartbeat URL (http:, an address `connect` takes); `connectTimeoutMs` bounds
   * each connect and send.
   */
  constructor(
    url: string,
    headers: FixedHeaders,
    connect: SocketConnector,
    connectTimeoutMs: number,
  ) {
    const u = new URL(url);
    this.#encode = requestEncoder(url, headers);
    this.#host = u.hostname;
    this.#port = Number(u.port || 80);
    this.#connect = connect;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /** True while a connection is open (tests). */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  send(body: string): void {
    if (this.#waiting) throw new Error("a request is still waiting for its answer");
    const request = this.#encode(body);
    if (this.#socket && this.#closedByPeer(this.#socket)) this.close();
    try {
      const socket = this.#socket ??= this.#connect(this.#host, this.#port, this.#connectTimeoutMs);
      for (let off = 0; off < request.length;) off += socket.send(request.subarray(off));
    } catch (e) {
      this.close();
      throw e;
    }
    this.#len = 0;
    this.#waiting = true;
  }

  poll(): PostAnswer | undefined {
    const socket = this.#socket;
    if (!this.#waiting || !socket) return undefined;
    try {
      // Framed after each read: a complete answer needs no read more (to see EAGAIN).
      while (true) {
        if (this.#len === this.#buf.length) this.#grow();
        const n = socket.recv(this.#buf.subarray(this.#len));
        if (n === null) return undefined;
        if (n === 0) {
          const { status, text } = frameAnswer(this.#buf.subarray(0, this.#len), true)!;
          this.close();
          return { status, text };
        }
        this.#len += n;
        const answer = frameAnswer(this.#buf.subarray(0, this.#len), false);
        if (!answer) continue;
        this.#waiting = false;
        if (answer.close) this.close();
        return { status: answer.status, text: answer.text };
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#waiting = false;
    this.#len = 0;
    socket?.close();
  }

  /**
   * Whether an idle connection was closed by the hub meanwhile (its close or reset waits in
   * the socket): then the request goes out on a new one rather than into a dead one. Bytes
   * nobody asked for are a broken connection too.
   */
  #closedByPeer(socket: SyncSocket): boolean {
    try {
      return socket.recv(this.#buf) !== null;
    } catch {
      return true;
    }
  }

  #grow(): void {
    if (this.#buf.length >= MAX_REPLY_BYTES) {
      throw new Error(`hub answer over ${MAX_REPLY_BYTES} bytes`);
    }
    const bigger = new Uint8Array(this.#buf.length * 2);
    bigger.set(this.#buf);
    this.#buf = bigger;
  }
}
