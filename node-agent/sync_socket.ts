/**
 * A TCP socket driven by synchronous libc calls (`shared/libc.ts`), outside Deno's event loop:
 * nothing polls it, so a reply arriving while the agent's thread sleeps does not wake the
 * process. The agent's heartbeat pass (`pass_transport.ts`) sends on it with a blocking `send`
 * and reads the answer at its next pass with a non-blocking `recv` (MSG_DONTWAIT). `connect`
 * and `send` block at most the timeout given (SO_SNDTIMEO, which bounds both on Linux).
 * Tests use a model with the same semantics (`tests/support/fakes/fake_socket.ts`).
 */
import {
  AF_INET,
  EAGAIN,
  EINPROGRESS,
  EINTR,
  errno,
  IPPROTO_TCP,
  libc,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  OsError,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
  strerror,
  TCP_NODELAY,
} from "../shared/libc.ts";

/** A connected stream socket, used one call at a time. Failures throw {@link OsError}. */
export interface SyncSocket {
  /**
   * Writes some of `bytes` and returns how many were taken (maybe fewer than all: call again
   * with the rest). Blocks only while the send buffer is full, bounded by the send timeout
   * (then EAGAIN). A reset or closed connection is ECONNRESET or EPIPE (never SIGPIPE).
   */
  send(bytes: Uint8Array): number;
  /**
   * Reads what has arrived, never blocking: the count (> 0), 0 once the peer closed and every
   * byte was read, or `null` when nothing is there yet (EAGAIN). A reset is ECONNRESET.
   */
  recv(into: Uint8Array): number | null;
  /** Closes the socket (idempotent). */
  close(): void;
}

/** Opens a connected socket to `host:port`, blocking at most `timeoutMs`. */
export type SocketConnector = (host: string, port: number, timeoutMs: number) => SyncSocket;

/** The four bytes of an IPv4 literal (or `localhost`), or undefined for anything else. */
export function ipv4Of(host: string): Uint8Array | undefined {
  if (host === "localhost") return new Uint8Array([127, 0, 0, 1]);
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? new Uint8Array(parts) : undefined;
}

/** `struct sockaddr_in` for an IPv4 address and port (family in host order, port big-endian). */
export function sockaddrIn(addr: Uint8Array, port: number): Uint8Array<ArrayBuffer> {
  const sa = new Uint8Array(16);
  const view = new DataView(sa.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  sa.set(addr, 4);
  return sa;
}

/** `struct timeval` of `ms` (64-bit `tv_sec`, `tv_usec`). */
function timeval(ms: number): Uint8Array<ArrayBuffer> {
  const tv = new Uint8Array(16);
  const view = new DataView(tv.buffer);
  view.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
  view.setBigInt64(8, BigInt(Math.round((ms % 1000) * 1000)), true);
  return tv;
}

/** Connects through libc: the {@link SocketConnector} of the standalone agent. */
export const connectTcp: SocketConnector = (host, port, timeoutMs) => {
  const addr = ipv4Of(host);
  if (!addr) throw new Error(`${host} is not an IPv4 address`);
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new OsError("socket", errno());
  try {
    const tv = timeval(timeoutMs);
    if (c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, tv.length) < 0) {
      throw new OsError("setsockopt", errno());
    }
    const one = new Uint8Array(new Int32Array([1]).buffer);
    c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, one.length); // best effort
    const sa = sockaddrIn(addr, port);
    if (c.connect(fd, sa, sa.length) < 0) {
      const code = errno();
      // EINPROGRESS: the send timeout ran out while connecting; EINTR: a signal came meanwhile
      const why = code === EINPROGRESS || code === EINTR
        ? `no connection within ${timeoutMs} ms`
        : strerror(code);
      throw new OsError("connect", code, `connect to ${host}:${port}: ${why}`);
    }
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return new LibcSocket(fd);
};

/** A socket file descriptor. */
class LibcSocket implements SyncSocket {
  #fd: number;

  constructor(fd: number) {
    this.#fd = fd;
  }

  send(bytes: Uint8Array<ArrayBuffer>): number {
    const n = Number(libc().send(this.#open("send"), bytes, BigInt(bytes.length), MSG_NOSIGNAL));
    if (n < 0) throw new OsError("send", errno());
    return n;
  }

  recv(into: Uint8Array<ArrayBuffer>): number | null {
    const n = Number(libc().recv(this.#open("recv"), into, BigInt(into.length), MSG_DONTWAIT));
    if (n >= 0) return n;
    const code = errno();
    if (code === EAGAIN || code === EINTR) return null;
    throw new OsError("recv", code);
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  #open(call: string): number {
    if (this.#fd < 0) throw new Error(`${call} on a closed socket`);
    return this.#fd;
  }
}
