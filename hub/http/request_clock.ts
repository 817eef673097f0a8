/**
 * Per-connection timing rules of the TCP gate, as a pure state machine fed with the bytes
 * that pass and the time: a slow or idle client is told apart from a slow request.
 *
 * - A request (its head and any body) must arrive within `requestTimeoutMs` of its first
 *   byte; a new connection's clock starts at accept, so a connection that sends nothing is
 *   dropped as well. This is what ends slowloris: trickling header lines does not help.
 * - Between requests, and while a request is being answered, a connection with no byte in
 *   either direction for `idleTimeoutMs` is dropped. SSE sends a keep-alive comment every
 *   15 s and Deno pings WebSockets every 30 s, so live streams are never idle.
 * - Once the server answers `101 Switching Protocols` (WebSocket) the connection is a tunnel:
 *   only the idle rule applies.
 *
 * A request's end is found by its head's blank line (`\r\n\r\n`); the body is not parsed: a
 * client still sending bytes of a request past the deadline is late, whatever they are.
 *
 * The first bytes a client sends after a head and before the answer are kept (up to
 * `EARLY_BYTES`): if the answer is `101`, they are the WebSocket's first frames, and the gate's
 * frame reader (ws_guard.ts) must start with them.
 */

/** Bytes kept from after a request head until its answer starts. */
export const EARLY_BYTES = 4096;

/** Timeouts of the gate, ms. */
export interface GateTimeouts {
  /** Head and body of a request must arrive within this of its first byte. */
  requestTimeoutMs: number;
  /** No byte either way for this long ends a connection. */
  idleTimeoutMs: number;
}

/** Why a connection is overdue, or null. */
export type Overdue = "request" | "idle" | null;

const CR = 13, LF = 10;
const SWITCHING = new TextEncoder().encode("HTTP/1.1 101");

/** One connection's clock. */
export class RequestClock {
  /** reading: a request is arriving; answered: the server has started answering. */
  #state: "reading" | "sent" | "answered" | "tunnel" = "reading";
  #requestStart: number;
  #lastByte: number;
  /** Last bytes of the head seen so far (to find a blank line across chunks). */
  #tail = [0, 0, 0];
  /** The server's next bytes start a response (to spot 101). */
  #responseStarts = false;
  #late = false;
  /** A byte of the current request has arrived. */
  #requestBegun = false;
  /** Bytes after the head, before the answer (counted in full, kept up to EARLY_BYTES). */
  #early: Uint8Array[] = [];
  #earlyLen = 0;

  constructor(now: number) {
    this.#requestStart = now;
    this.#lastByte = now;
  }

  /** True once the connection carries WebSocket frames. */
  get tunnel(): boolean {
    return this.#state === "tunnel";
  }

  /** Bytes from the client. */
  fromClient(chunk: Uint8Array, now: number, timeouts: GateTimeouts): void {
    this.#lastByte = now;
    if (this.#state === "tunnel") return;
    if (this.#state === "answered") {
      // The next request on a kept-alive connection: its clock starts now.
      this.#state = "reading";
      this.#requestStart = now;
      this.#tail = [0, 0, 0];
    }
    this.#requestBegun = true;
    if (now - this.#requestStart > timeouts.requestTimeoutMs) {
      this.#late = true;
      return;
    }
    if (this.#state === "sent") return this.#keepEarly(chunk);
    if (this.#state !== "reading") return;
    const t = this.#tail;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF && t[2] === CR && t[1] === LF && t[0] === CR) {
        this.#state = "sent";
        this.#responseStarts = true;
        this.#early = [];
        this.#earlyLen = 0;
        if (i + 1 < chunk.length) this.#keepEarly(chunk.subarray(i + 1));
        return;
      }
      t[0] = t[1];
      t[1] = t[2];
      t[2] = b;
    }
  }

  #keepEarly(chunk: Uint8Array): void {
    this.#earlyLen += chunk.length;
    if (this.#earlyLen <= EARLY_BYTES) this.#early.push(chunk.slice());
  }

  /**
   * What the client sent after the upgrade request's head and before the `101`: the socket's
   * first bytes; "overflow" when that was more than EARLY_BYTES (no client waiting for the
   * handshake does so).
   */
  takeEarly(): Uint8Array[] | "overflow" {
    const early = this.#earlyLen > EARLY_BYTES ? "overflow" : this.#early;
    this.#early = [];
    this.#earlyLen = 0;
    return early;
  }

  /** Bytes from the server. */
  fromServer(chunk: Uint8Array, now: number): void {
    this.#lastByte = now;
    if (this.#state === "tunnel") return;
    if (this.#responseStarts) {
      this.#responseStarts = false;
      if (startsWith(chunk, SWITCHING)) {
        this.#state = "tunnel";
        return;
      }
      this.#early = [];
      this.#earlyLen = 0;
    }
    this.#state = "answered";
  }

  /**
   * True for a kept-alive connection between requests (or a new one that has sent nothing):
   * shedding it loses no request. A request being sent or answered, or a WebSocket, is not.
   */
  get betweenRequests(): boolean {
    return (this.#state === "reading" && !this.#requestBegun) || this.#state === "answered";
  }

  /** How long no byte went either way, ms. */
  idleMs(now: number): number {
    return now - this.#lastByte;
  }

  /** Whether the connection should be dropped now, and why. */
  overdue(now: number, timeouts: GateTimeouts): Overdue {
    if (this.#late) return "request";
    if (this.#state === "reading" && now - this.#requestStart > timeouts.requestTimeoutMs) {
      return "request";
    }
    return now - this.#lastByte > timeouts.idleTimeoutMs ? "idle" : null;
  }
}

function startsWith(chunk: Uint8Array, prefix: Uint8Array): boolean {
  if (chunk.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (chunk[i] !== prefix[i]) return false;
  return true;
}
