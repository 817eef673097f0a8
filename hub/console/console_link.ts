/**
 * Keeps one console source connected: opens it, reads until the connection ends or fails,
 * and opens it again after a backoff (doubling from `minBackoffMs` to `maxBackoffMs`, back
 * to the minimum after a connection that lasted). Output goes to `onData` whether or not
 * anyone is watching, so boot logs are captured.
 */
import type { Clock } from "../../shared/clock.ts";
import type { ConsoleSourceStatus } from "../../shared/console_schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import type { ConsoleChannel, ConsoleSource } from "./console_source.ts";

/** Backoff between connection attempts. */
export interface LinkBackoff {
  /** First wait after a failure, ms (default 250). */
  minBackoffMs?: number;
  /** Longest wait, ms (default 10 000). */
  maxBackoffMs?: number;
}

/** What the link tells its owner. */
export interface LinkHandlers {
  /** Console output as it arrives. */
  data(chunk: Uint8Array): void;
  /** The source connected, or lost its connection (with `lastError`). */
  status(status: ConsoleSourceStatus): void;
}

/** A console source kept connected. */
export class ConsoleLink {
  readonly #source: ConsoleSource;
  readonly #handlers: LinkHandlers;
  readonly #clock: Clock;
  readonly #min: number;
  readonly #max: number;
  readonly #stop = new AbortController();
  #channel: ConsoleChannel | null = null;
  #lastError: string | null = null;
  #loop: Promise<void> | null = null;
  /** Writes in order, one after the other. */
  #writes: Promise<void> = Promise.resolve();
  #pendingWriteBytes = 0;
  /** The writer's window size, given again to each new connection. */
  #size: { cols: number; rows: number } | null = null;

  constructor(source: ConsoleSource, handlers: LinkHandlers, clock: Clock, b: LinkBackoff = {}) {
    this.#source = source;
    this.#handlers = handlers;
    this.#clock = clock;
    this.#min = b.minBackoffMs ?? 250;
    this.#max = b.maxBackoffMs ?? 10_000;
  }

  /** The source and whether it is connected now. */
  get status(): ConsoleSourceStatus {
    return {
      kind: this.#source.kind,
      describe: this.#source.describe,
      connected: this.#channel !== null,
      lastError: this.#lastError,
    };
  }

  /** Input bytes accepted and not yet written to the source. */
  get pendingWriteBytes(): number {
    return this.#pendingWriteBytes;
  }

  /** Starts connecting (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    let backoff = this.#min;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let channel: ConsoleChannel;
      try {
        channel = await this.#source.open();
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        if (why !== this.#lastError) {
          this.#lastError = why;
          this.#handlers.status(this.status);
        }
        await this.#clock.sleep(backoff, signal);
        backoff = Math.min(backoff * 2, this.#max);
        continue;
      }
      if (signal.aborted) {
        channel.close();
        break;
      }
      this.#channel = channel;
      if (this.#size) channel.resize?.(this.#size.cols, this.#size.rows);
      this.#lastError = null;
      this.#handlers.status(this.status);
      const openedAt = this.#clock.now();
      let why = "the other end closed the connection";
      try {
        for (;;) {
          const chunk = await channel.read();
          if (chunk === null) break;
          if (chunk.length > 0) this.#handlers.data(chunk);
        }
      } catch (e) {
        why = e instanceof Error ? e.message : String(e);
      }
      channel.close();
      this.#channel = null;
      if (signal.aborted) break;
      this.#lastError = why;
      this.#handlers.status(this.status);
      if (this.#clock.now() - openedAt > this.#max) backoff = this.#min;
      await this.#clock.sleep(backoff, signal);
      backoff = Math.min(backoff * 2, this.#max);
    }
  }

  /**
   * Queues input for the console. Throws `not_ready` while the source is disconnected and
   * `conflict` when more than `maxPending` bytes wait for a slow line.
   */
  write(data: Uint8Array, maxPending: number): void {
    const channel = this.#channel;
    if (!channel) {
      throw new ClusterError(
        "not_ready",
        `the console is not connected (${this.#lastError ?? "connecting"}); input dropped`,
      );
    }
    if (this.#pendingWriteBytes + data.length > maxPending) {
      throw new ClusterError(
        "conflict",
        `console input is arriving faster than the line takes it (${this.#pendingWriteBytes} bytes waiting); input dropped`,
      );
    }
    this.#pendingWriteBytes += data.length;
    this.#writes = this.#writes.then(async () => {
      try {
        if (this.#channel === channel) await channel.write(data);
      } catch {
        // A failed write means a failing line: the read side notices and reconnects.
      } finally {
        this.#pendingWriteBytes -= data.length;
      }
    });
  }

  /** Passes the writer's window size on, where the source can use it. */
  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    this.#channel?.resize?.(cols, rows);
  }

  /** Stops reconnecting and closes the connection. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#channel?.close();
    // A connection attempt under way ends on its own (sources time out); the loop then sees
    // the abort and closes what it got. Shutdown does not wait for it longer than a second.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, 1000)));
    await Promise.race([Promise.all([this.#loop, this.#writes]), grace]);
    clearTimeout(timer);
  }
}
