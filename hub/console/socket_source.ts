/**
 * A console reached over a stream socket: a raw TCP port (a console server, ser2net in raw
 * mode, a QEMU `-serial tcp:…,server`) or a unix socket (QEMU `-serial unix:…,server`). The
 * bytes are the console's bytes; no telnet or RFC 2217 negotiation.
 */
import { ClusterError } from "../../shared/errors.ts";
import type { ConsoleChannel, ConsoleSource } from "./console_source.ts";

/** Largest chunk read at once. */
const CHUNK = 16 * 1024;
/** Longest a connection attempt may take (an unreachable host would take minutes), ms. */
export const CONNECT_TIMEOUT_MS = 5000;

/** Where the socket is: `{host, port}` for TCP, `{path}` for a unix socket. */
export type SocketAddress = { host: string; port: number } | { path: string };

/** Reads and writes one connected socket. */
class SocketChannel implements ConsoleChannel {
  readonly #conn: Deno.Conn;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buf = new Uint8Array(CHUNK);
    try {
      const n = await this.#conn.read(buf);
      return n === null ? null : buf.subarray(0, n);
    } catch (e) {
      if (this.#closed) return null;
      throw e;
    }
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** A console on a TCP port or a unix socket. */
export class SocketConsoleSource implements ConsoleSource {
  readonly kind: "tcp" | "unix";
  readonly describe: string;
  readonly #address: SocketAddress;

  constructor(address: SocketAddress) {
    this.#address = address;
    this.kind = "path" in address ? "unix" : "tcp";
    this.describe = "path" in address
      ? `unix ${address.path}`
      : `tcp ${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  }

  async open(): Promise<ConsoleChannel> {
    const connecting = "path" in this.#address
      ? Deno.connect({ transport: "unix", path: this.#address.path })
      : Deno.connect({ hostname: this.#address.host, port: this.#address.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${CONNECT_TIMEOUT_MS / 1000} s`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    try {
      const conn = await Promise.race([connecting, timeout]);
      if (!("path" in this.#address)) (conn as Deno.TcpConn).setNoDelay(true);
      return new SocketChannel(conn);
    } catch (e) {
      // A connection that completes after the timeout is closed, not leaked.
      connecting.then((c) => c.close(), () => {});
      throw new ClusterError(
        "hardware_fault",
        `cannot connect to ${this.describe}: ${e instanceof Error ? e.message : e}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
