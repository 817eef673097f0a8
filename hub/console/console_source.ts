/**
 * The `ConsoleSource` seam: where one bay's console bytes come from and go to. Like
 * `PowerSwitch`, one narrow interface with several implementations: a serial device
 * (`serial_source.ts`), a TCP or unix socket (`socket_source.ts`, for console servers,
 * ser2net and QEMU serial ports) and the simulated module's consoles (`simulated_console.ts`).
 * Reconnecting is not the source's job: `ConsoleLink` opens it again with a backoff.
 */

/** One open connection to a console: bytes in, bytes out. */
export interface ConsoleChannel {
  /**
   * Reads the next chunk of console output; `null` when the connection ended (the peer
   * closed it, or `close()` was called). Throws when the line fails (device unplugged).
   */
  read(): Promise<Uint8Array | null>;
  /** Writes bytes to the console (typed input); resolves when they were handed over. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the connection; a pending `read()` resolves `null` soon after. Idempotent. */
  close(): void;
  /**
   * The writer's window size, for an other end that can use it (the simulated console answers
   * `stty size` with it). A serial line or a raw socket has no way to carry it: omitted.
   */
  resize?(cols: number, rows: number): void;
}

/** Where a bay's console is. */
export interface ConsoleSource {
  /** `serial`, `tcp`, `unix` or `simulated`. */
  readonly kind: string;
  /** Human-readable address, e.g. "/dev/ttyUSB3 115200 8N1", "tcp 127.0.0.1:7007". */
  readonly describe: string;
  /** Opens a connection. Throws a ClusterError saying why it cannot. */
  open(): Promise<ConsoleChannel>;
}
