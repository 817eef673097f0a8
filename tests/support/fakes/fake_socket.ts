/**
 * A model of a connected non-blocking TCP socket as Linux gives it to `send`/`recv`
 * (node-agent/sync_socket.ts), driven from the peer's side by the test:
 * - `recv` returns what the peer wrote, at most `maxRead` bytes a call (partial reads), `null`
 *   (EAGAIN) when nothing is there, 0 once the peer closed and every byte was read;
 * - a reset (RST) drops unread bytes, and the next `recv` or `send` throws ECONNRESET, then
 *   EPIPE on `send` afterwards;
 * - `send` takes at most `sendRoom` bytes a call (partial writes); after the peer closed, one
 *   `send` still succeeds (the kernel queues it) and makes the peer reset, as a closed socket
 *   answers data with RST;
 * - any call on a closed socket throws (EBADF).
 */
import type { SyncSocket } from "../../../node-agent/sync_socket.ts";
import { ECONNRESET, EPIPE, OsError } from "../../../shared/libc.ts";

const TEXT: Record<number, string> = {
  [ECONNRESET]: "Connection reset by peer",
  [EPIPE]: "Broken pipe",
};

/** The error libc's call would give (its text fixed, so the model needs no FFI). */
function fakeOsError(call: string, code: number): OsError {
  return new OsError(call, code, `${call}: ${TEXT[code]}`);
}

/** One fake connection. */
export class FakeSocket implements SyncSocket {
  /** Bytes the agent sent, as the peer received them. */
  readonly sent: number[] = [];
  /** Most bytes one `recv` returns. */
  maxRead = Infinity;
  /** Most bytes one `send` takes. */
  sendRoom = Infinity;
  #inbox: number[] = [];
  #peerClosed = false;
  #reset = false;
  #resetReported = false;
  #closed = false;

  /** The peer writes `data` (a string is UTF-8). */
  peerWrite(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (!this.#reset) this.#inbox.push(...bytes);
  }

  /** The peer closes its end (FIN): bytes already written can still be read. */
  peerClose(): void {
    this.#peerClosed = true;
  }

  /** The peer resets the connection (RST): unread bytes are lost. */
  peerReset(): void {
    this.#reset = true;
    this.#inbox = [];
  }

  /** What the agent sent, as text. */
  get sentText(): string {
    return new TextDecoder().decode(new Uint8Array(this.sent));
  }

  /** True once the agent closed it. */
  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: Uint8Array): number {
    this.#check("send");
    if (this.#reset) {
      if (!this.#resetReported) {
        this.#resetReported = true;
        throw fakeOsError("send", ECONNRESET);
      }
      throw fakeOsError("send", EPIPE);
    }
    if (this.#peerClosed) this.peerReset(); // data to a closed socket is answered with RST
    const n = Math.min(bytes.length, this.sendRoom);
    this.sent.push(...bytes.subarray(0, n));
    return n;
  }

  recv(into: Uint8Array): number | null {
    this.#check("recv");
    if (this.#reset && !this.#resetReported) {
      this.#resetReported = true;
      throw fakeOsError("recv", ECONNRESET);
    }
    if (this.#inbox.length === 0) return this.#peerClosed || this.#reset ? 0 : null;
    const n = Math.min(into.length, this.maxRead, this.#inbox.length);
    into.set(this.#inbox.splice(0, n));
    return n;
  }

  close(): void {
    this.#closed = true;
  }

  #check(call: string): void {
    if (this.#closed) throw new OsError(call, 9, `${call}: Bad file descriptor`);
  }
}
