/**
 * Reports to the hub: POST `${hub}/api/v1/agent/heartbeat` with the agent key as a Bearer
 * token and a `Heartbeat` body, every `intervalMs` (the hub's reply can change it). One
 * request at a time, built from the latest state when it is sent: nothing queues. Failures
 * retry with capped exponential backoff plus jitter; a watchdog declares a fault when no
 * reply has succeeded for `faultAfterMs`, stretched to two intervals plus the request timeout
 * when the hub asks for long intervals. It never throws out of its loops.
 */
import type { Clock } from "../shared/clock.ts";
import { ClusterError, type ErrorCode, isErrorCode } from "../shared/errors.ts";
import { safeParse } from "zod/mini";
import { ErrorBody, HeartbeatReply, parseOrThrow } from "../shared/wire_schemas.ts";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import { FetchPoster, KeepAlivePoster, type Poster } from "./keep_alive.ts";
import { type Logger, silentLogger } from "./log.ts";

/** The hub's heartbeat endpoint, relative to its base URL. */
export const HEARTBEAT_PATH = "/api/v1/agent/heartbeat";

/** Options of the reporter. */
export interface ReporterOptions {
  /** Hub base URL, e.g. http://10.42.0.250:4242 */
  hub: string;
  /** Agent key, sent as `Authorization: Bearer <key>`. */
  key: string;
  clock: Clock;
  /** Builds the JSON text of the heartbeat to send now (latest state; see heartbeat_json.ts). */
  heartbeat: (seq: number) => Promise<string>;
  /** Called with every valid reply. */
  onReply?: (reply: HeartbeatReply) => void;
  /** Called when the fault state changes (true: no reply for `faultAfterMs`). */
  onFault?: (faulted: boolean) => void;
  /** Interval until the hub says otherwise (default 1000 ms). */
  intervalMs?: number;
  /** Per-request timeout (default 2000 ms). */
  timeoutMs?: number;
  /**
   * Time without a successful reply before the fault is declared (default 5000 ms). The
   * threshold in force is never below 2 × the interval in force + `timeoutMs`, so a long
   * interval from the hub does not show fault between heartbeats.
   */
  faultAfterMs?: number;
  backoff?: BackoffPolicy;
  /** Jitter source in [0, 1) (default Math.random). */
  jitter?: () => number;
  /**
   * Sends through this fetch. Without one, an http: hub is reached over one kept-alive
   * connection (keep_alive.ts), an https: hub through the global fetch.
   */
  fetch?: typeof fetch;
  logger?: Logger;
  /**
   * Called after a good reply with the time the next heartbeat is due, before the reporter
   * sleeps until then: the standalone agent with the kernel LED engine blocks the thread there
   * (see agent.ts), so that the node wakes once for the heartbeat and once for the reply.
   */
  idle?: (nextAt: number) => void;
}

/** The hub answered with an error, or not at all. */
export class HubError extends ClusterError {
  /** HTTP status, or undefined when there was no answer. */
  readonly httpStatus?: number;
  constructor(code: ErrorCode, message: string, httpStatus?: number) {
    super(code, message);
    this.name = "HubError";
    this.httpStatus = httpStatus;
  }
}

/** Sends heartbeats until stopped. */
export class Reporter {
  readonly #o:
    & Required<Omit<ReporterOptions, "onReply" | "onFault" | "fetch" | "idle">>
    & ReporterOptions;
  readonly #poster: Poster;
  readonly #url: string;
  readonly #stop = new AbortController();
  #kick = new AbortController();
  #loops: Promise<unknown> | undefined;
  #seq = 0;
  #failures = 0;
  #lastOkAt: number;
  #faulted = false;
  #lastError: string | undefined;
  #intervalMs: number;
  #anchor = 0;

  constructor(opts: ReporterOptions) {
    this.#o = {
      ...opts,
      intervalMs: opts.intervalMs ?? 1000,
      timeoutMs: opts.timeoutMs ?? 2000,
      faultAfterMs: opts.faultAfterMs ?? 5000,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      jitter: opts.jitter ?? Math.random,
      logger: opts.logger ?? silentLogger,
    };
    this.#url = `${opts.hub.replace(/\/+$/, "")}${HEARTBEAT_PATH}`;
    // Fixed for the agent's life: built once, not per heartbeat.
    const headers = {
      "authorization": `Bearer ${opts.key}`,
      "content-type": "application/json",
    };
    this.#poster = opts.fetch
      ? new FetchPoster(this.#url, headers, opts.fetch)
      : this.#url.startsWith("http:")
      ? new KeepAlivePoster(this.#url, headers)
      : new FetchPoster(this.#url, headers, globalThis.fetch.bind(globalThis));
    this.#intervalMs = this.#o.intervalMs;
    this.#lastOkAt = opts.clock.now();
  }

  /** True while the hub has not answered for `faultAfterMs`. */
  get faulted(): boolean {
    return this.#faulted;
  }

  /** Consecutive failed requests. */
  get failures(): number {
    return this.#failures;
  }

  /** Heartbeats sent (successful or not). */
  get sent(): number {
    return this.#seq;
  }

  /** The interval in force (ms). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** The fault threshold in force: max(faultAfterMs, 2 × intervalMs + timeoutMs). */
  get faultThresholdMs(): number {
    return Math.max(this.#o.faultAfterMs, 2 * this.#intervalMs + this.#o.timeoutMs);
  }

  /** The last failure's message, if the last request failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Starts sending and watching (idempotent). Heartbeats fall due at `anchor + k × interval`
   * (`anchor` defaults to now): the agent anchors them on the LED's timeline, so that a
   * heartbeat and an LED edge due together cost the node one wake-up, not two.
   */
  start(anchor?: number): void {
    this.#lastOkAt = this.#o.clock.now();
    this.#anchor = anchor ?? this.#lastOkAt;
    this.#loops ??= Promise.all([this.#sendLoop(), this.#watchdog()]);
  }

  /** Stops both loops and waits for them (an in-flight request is aborted). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#kick.abort();
    await this.#loops;
    this.#poster.close();
  }

  async #sendLoop(): Promise<void> {
    const { clock } = this.#o;
    while (!this.#stop.signal.aborted) {
      const started = clock.now();
      let next: number;
      try {
        const reply = await this.#send(this.#seq++);
        this.#succeeded(reply);
        // Absolute schedule: the next heartbeat is due at the first slot of the anchored
        // timeline after this one started (one interval later, when this one was on time).
        next = Math.max(this.#slotAfter(started), clock.now());
        if (this.#o.idle) {
          // what the reply set off runs first (a new LED mode is written), then the idle time
          for (let i = 0; i < 4; i++) await null;
          this.#o.idle(next);
        }
      } catch (e) {
        if (this.#stop.signal.aborted) break;
        this.#failed(e as Error);
        next = clock.now() + backoffDelay(this.#failures, this.#o.backoff, this.#o.jitter());
      }
      await clock.sleepUntil(next, this.#stop.signal);
    }
  }

  /** The first `anchor + k × interval` after `t`. */
  #slotAfter(t: number): number {
    const interval = this.#intervalMs;
    const k = Math.floor((t - this.#anchor) / interval) + 1;
    const slot = this.#anchor + k * interval;
    return slot > t ? slot : slot + interval; // float rounding
  }

  async #watchdog(): Promise<void> {
    const { clock } = this.#o;
    while (!this.#stop.signal.aborted) {
      this.#kick = new AbortController();
      const deadline = this.#lastOkAt + this.faultThresholdMs;
      if (!this.#faulted && clock.now() >= deadline) {
        this.#faulted = true;
        this.#o.logger.warn(
          `no reply from the hub for ${
            Math.round(clock.now() - this.#lastOkAt)
          } ms: LED shows fault`,
        );
        this.#o.onFault?.(true);
      }
      await clock.sleepUntil(this.#faulted ? Infinity : deadline, this.#kick.signal);
    }
  }

  #succeeded(reply: HeartbeatReply): void {
    if (this.#failures > 0) {
      this.#o.logger.info(`hub answers again after ${this.#failures} failed heartbeat(s)`);
    }
    this.#failures = 0;
    this.#lastError = undefined;
    this.#lastOkAt = this.#o.clock.now();
    this.#intervalMs = reply.intervalMs;
    if (this.#faulted) {
      this.#faulted = false;
      this.#o.onFault?.(false);
    }
    // The watchdog's timer is moved to the new deadline at every reply, so that it never
    // fires while the hub answers: a timer cancelled before it is due costs the node no
    // wake-up, one that fires and sleeps on costs one or two (Deno's timer wheel) every 5 s.
    this.#kick.abort();
    this.#o.onReply?.(reply);
  }

  #failed(e: Error): void {
    this.#failures++;
    if (e.message !== this.#lastError) this.#o.logger.warn(`heartbeat failed: ${e.message}`);
    this.#lastError = e.message;
  }

  async #send(seq: number): Promise<HeartbeatReply> {
    const { clock, timeoutMs } = this.#o;
    const url = this.#url;
    const body = await this.#o.heartbeat(seq);
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    const cancelTimer = new AbortController();
    const timeout = clock.sleep(timeoutMs, cancelTimer.signal).then(() => {
      if (cancelTimer.signal.aborted) return new Promise<never>(() => {});
      abort.abort();
      throw new HubError("not_ready", `hub did not answer within ${timeoutMs} ms`);
    });
    try {
      const exchange = (async () => {
        let res;
        try {
          res = await this.#poster.post(body, abort.signal);
        } catch (e) {
          throw new HubError("not_ready", `cannot reach ${url}: ${(e as Error).message}`);
        }
        const { status, text } = res;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new HubError("internal", `hub answered ${status} with non-JSON`, status);
        }
        if (status < 200 || status > 299) {
          const err = safeParse(ErrorBody, json);
          const code = err.success && isErrorCode(err.data.error.code)
            ? err.data.error.code
            : "internal";
          const msg = err.success ? err.data.error.message : text.slice(0, 200);
          const hint = status === 401 ? " (check the agent key)" : "";
          throw new HubError(code, `hub answered ${status}: ${msg}${hint}`, status);
        }
        return parseOrThrow(HeartbeatReply, json, "heartbeat reply");
      })();
      exchange.catch(() => {}); // a late failure after the timeout is not unhandled
      return await Promise.race([exchange, timeout]);
    } finally {
      cancelTimer.abort();
      this.#stop.signal.removeEventListener("abort", onStop);
    }
  }
}
