/**
 * Reports to the hub: POST `${hub}/api/v1/agent/heartbeat` with the agent key as a Bearer
 * token and a `Heartbeat` body, every `intervalMs` (the hub's reply can change it). One
 * request at a time, built from the latest state when it is sent: nothing queues. Failures
 * retry with capped exponential backoff plus jitter; a watchdog declares a fault when no
 * reply has succeeded for `faultAfterMs`, stretched to two intervals plus the request timeout
 * when the hub asks for long intervals. It never throws out of its loops.
 *
 * Given a `socket` connector, it runs in **heartbeat passes** instead (the standalone agent
 * with the kernel LED engine): once per grid step, on the LED's restart, it collects the answer
 * to the previous heartbeat without blocking, sends the next one synchronously, and calls
 * `idle` until the next pass, so the node wakes once a second (docs/agent.md#footprint).
 */
import type { Clock } from "../shared/clock.ts";
import { ClusterError, type ErrorCode, isErrorCode } from "../shared/errors.ts";
import { safeParse } from "zod/mini";
import { ErrorBody, HeartbeatReply, parseOrThrow } from "../shared/wire_schemas.ts";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import { FetchPoster, KeepAlivePoster, type PostAnswer, type Poster } from "./keep_alive.ts";
import { type Logger, silentLogger } from "./log.ts";
import { SocketPassTransport } from "./pass_transport.ts";
import { passHoldMs, PassSchedule } from "./pass_schedule.ts";
import type { SocketConnector } from "./sync_socket.ts";
import { EINTR, OsError } from "../shared/libc.ts";

/** The hub's heartbeat endpoint, relative to its base URL. */
export const HEARTBEAT_PATH = "/api/v1/agent/heartbeat";

/** Options of the reporter. */
export interface ReporterOptions {
  /** Hub base URL, e.g. http://10.42.0.250:4242 */
  hub: string;
  /** Agent key, sent as `Authorization: Bearer <key>`. */
  key: string;
  clock: Clock;
  /**
   * Builds the JSON text of the heartbeat to send now (latest state; see heartbeat_json.ts),
   * with `holdMs` when given (heartbeat passes: the hub may hold its answer that long).
   */
  heartbeat: (seq: number, holdMs?: number) => Promise<string>;
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
   * sleeps until then (in heartbeat passes: after every pass, with the next pass's time): the
   * standalone agent with the kernel LED engine blocks the thread there (see agent.ts).
   */
  idle?: (nextAt: number) => void;
  /**
   * Heartbeat passes over sockets of this connector (plain http: hubs whose host it takes),
   * one pass every `passMs` from the anchor given to `start`: collect the last answer, send
   * the next heartbeat, `idle`. Without it, requests go through a {@link Poster}.
   */
  socket?: SocketConnector;
  /** The passes' grid step (default 1000 ms: the kernel LED engine's restarts). */
  passMs?: number;
  /**
   * In heartbeat passes: resolves once the LED work due by now (the restart) is done. Each
   * pass waits for it before `idle`, so that the event loop runs at every pass (the restart's
   * timer, signals) even when no heartbeat is due.
   */
  afterDueWork?: () => Promise<void>;
  /**
   * In heartbeat passes: called first in each pass, with its grid instant (the agent restarts
   * the bay LED's kernel pattern there, before anything else).
   */
  onPass?: (at: number) => void;
}

/**
 * Heartbeat passes with `idle` run from one wake-up to the next without a turn of Deno's event
 * loop (a turn costs about as much as the pass). The loop turns at once when a signal cut the
 * idle short (SIGTERM: its listener stops the agent), and in any case once in this many passes
 * (a signal taken on another thread or during a pass, and V8's own queued work), on a timer
 * set before that idle, so that it costs no wake-up of its own; and after a pass whose connect
 * or send a signal cut short (the hub down, a connect waiting its timeout).
 */
export const PASSES_PER_LOOP_TURN = 5;

/** How long a heartbeat pass may block to connect or send (the LED's restart is done first). */
export const PASS_CONNECT_TIMEOUT_MS = 500;

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
    & Required<
      Omit<
        ReporterOptions,
        "onReply" | "onFault" | "fetch" | "idle" | "socket" | "afterDueWork" | "onPass"
      >
    >
    & ReporterOptions;
  readonly #poster: Poster | undefined;
  readonly #pass: SocketPassTransport | undefined;
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
  readonly #replies = new ReplyMemo();

  constructor(opts: ReporterOptions) {
    this.#o = {
      ...opts,
      intervalMs: opts.intervalMs ?? 1000,
      timeoutMs: opts.timeoutMs ?? 2000,
      faultAfterMs: opts.faultAfterMs ?? 5000,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      jitter: opts.jitter ?? Math.random,
      logger: opts.logger ?? silentLogger,
      passMs: opts.passMs ?? 1000,
    };
    this.#url = `${opts.hub.replace(/\/+$/, "")}${HEARTBEAT_PATH}`;
    // Fixed for the agent's life: built once, not per heartbeat.
    const headers = {
      "authorization": `Bearer ${opts.key}`,
      "content-type": "application/json",
    };
    this.#pass = opts.socket
      ? new SocketPassTransport(this.#url, headers, opts.socket, PASS_CONNECT_TIMEOUT_MS)
      : undefined;
    this.#poster = this.#pass
      ? undefined
      : opts.fetch
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
    // In passes the fault is checked at each pass: a watchdog timer, moved at every reply,
    // would leave a cancelled timer due just after some pass, and Deno's loop wakes for it.
    this.#loops ??= this.#pass
      ? this.#passLoop(this.#pass)
      : Promise.all([this.#sendLoop(), this.#watchdog()]);
  }

  /** Stops both loops and waits for them (an in-flight request is aborted). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#kick.abort();
    await this.#loops;
    this.#poster?.close();
    this.#pass?.close();
  }

  /**
   * One pass per grid step, each in one wake-up: the answer to the last heartbeat if it is
   * there (what it sets off, a new LED mode, is done before the next heartbeat goes out), the
   * next heartbeat when due, then `idle` until the next pass.
   */
  async #passLoop(transport: SocketPassTransport): Promise<void> {
    const { clock, timeoutMs } = this.#o;
    const plan = new PassSchedule(this.#anchor, this.#o.passMs);
    // The answer is read at the next pass: the hub may hold it until then (less a margin),
    // and sends it early when what it tells changes (a new LED mode).
    const holdMs = passHoldMs(this.#o.passMs);
    const fail = (at: number, e: Error) => {
      this.#failed(e);
      plan.failed(at, backoffDelay(this.#failures, this.#o.backoff, this.#o.jitter()));
    };
    let at = this.#anchor;
    let passes = 0;
    let interrupted = false; // a connect or send cut short by a signal's handler
    while (!this.#stop.signal.aborted) {
      // No wait after an idle that ran its course; after one cut short, the event loop's turn.
      await clock.sleepUntil(at, this.#stop.signal);
      if (this.#stop.signal.aborted) break;
      this.#o.onPass?.(at);
      if (plan.waiting) {
        let answer: PostAnswer | undefined;
        try {
          answer = transport.poll();
        } catch (e) {
          fail(at, this.#unreachable(e as Error));
        }
        if (answer) {
          try {
            const reply = this.#replies.of(answer);
            plan.answered(reply.intervalMs);
            this.#succeeded(reply);
          } catch (e) {
            fail(at, e as Error);
          }
        } else if (plan.timedOut(at, timeoutMs)) {
          transport.close(); // a late answer must not pass for the next heartbeat's
          fail(at, new HubError("not_ready", `hub did not answer within ${timeoutMs} ms`));
        }
      }
      if (plan.dueToSend(at)) {
        const body = await this.#o.heartbeat(this.#seq++, holdMs);
        if (this.#stop.signal.aborted) break;
        try {
          transport.send(body);
          plan.sent(at);
        } catch (e) {
          interrupted = e instanceof OsError && e.errno === EINTR;
          fail(at, this.#unreachable(e as Error));
        }
      }
      this.#checkFault();
      await this.#o.afterDueWork?.();
      if (this.#stop.signal.aborted) break;
      at = plan.nextPass(clock.now());
      if (!this.#o.idle) continue;
      const turn = ++passes % PASSES_PER_LOOP_TURN === 0 || interrupted
        ? clock.sleepUntil(at, this.#stop.signal)
        : undefined;
      interrupted = false;
      this.#o.idle(at);
      await turn;
    }
  }

  #unreachable(e: Error): HubError {
    return new HubError("not_ready", `cannot reach ${this.#url}: ${e.message}`);
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
      const deadline = this.#checkFault();
      await clock.sleepUntil(this.#faulted ? Infinity : deadline, this.#kick.signal);
    }
  }

  /** Declares the fault once the threshold has passed without a reply; returns the deadline. */
  #checkFault(): number {
    const now = this.#o.clock.now();
    const deadline = this.#lastOkAt + this.faultThresholdMs;
    if (!this.#faulted && now >= deadline) {
      this.#faulted = true;
      this.#o.logger.warn(
        `no reply from the hub for ${Math.round(now - this.#lastOkAt)} ms: LED shows fault`,
      );
      this.#o.onFault?.(true);
    }
    return deadline;
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
    // (Heartbeat passes have no watchdog; aborting again would build a DOMException each time.)
    if (!this.#kick.signal.aborted) this.#kick.abort();
    this.#o.onReply?.(reply);
  }

  #failed(e: Error): void {
    this.#failures++;
    if (e.message !== this.#lastError) this.#o.logger.warn(`heartbeat failed: ${e.message}`);
    this.#lastError = e.message;
  }

  async #send(seq: number): Promise<HeartbeatReply> {
    const { clock, timeoutMs } = this.#o;
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
          res = await this.#poster!.post(body, abort.signal);
        } catch (e) {
          throw this.#unreachable(e as Error);
        }
        return this.#replies.of(res);
      })();
      exchange.catch(() => {}); // a late failure after the timeout is not unhandled
      return await Promise.race([exchange, timeout]);
    } finally {
      cancelTimer.abort();
      this.#stop.signal.removeEventListener("abort", onStop);
    }
  }
}

/**
 * Replies of the hub's answers, each distinct answer parsed and validated once: the hub gives
 * the same bytes heartbeat after heartbeat (`{"node":7,"led":null,"intervalMs":1000}`), and
 * such an answer then costs a string compare, not a JSON parse and a schema check. Only the
 * last good answer is kept; an error answer is never kept.
 */
export class ReplyMemo {
  #status = 0;
  #text: string | undefined;
  #reply: HeartbeatReply | undefined;

  /** The reply `answer` means, or the {@link HubError} it is (see {@link replyOf}). */
  of(answer: PostAnswer): HeartbeatReply {
    if (answer.text === this.#text && answer.status === this.#status) return this.#reply!;
    const reply: HeartbeatReply = Object.freeze(replyOf(answer));
    this.#status = answer.status;
    this.#text = answer.text;
    this.#reply = reply;
    return reply;
  }
}

/** The hub's answer as a reply, or the {@link HubError} it means (status, body, schema). */
export function replyOf({ status, text }: PostAnswer): HeartbeatReply {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HubError("internal", `hub answered ${status} with non-JSON`, status);
  }
  if (status < 200 || status > 299) {
    const err = safeParse(ErrorBody, json);
    const code = err.success && isErrorCode(err.data.error.code) ? err.data.error.code : "internal";
    const msg = err.success ? err.data.error.message : text.slice(0, 200);
    const hint = status === 401 ? " (check the agent key)" : "";
    throw new HubError(code, `hub answered ${status}: ${msg}${hint}`, status);
  }
  return parseOrThrow(HeartbeatReply, json, "heartbeat reply");
}
