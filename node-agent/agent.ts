/**
 * The node agent, composed: identity, the LED engine on a GPIO line, and the reporter. The
 * LED loop does not depend on the hub: it keeps beating whatever the network does, and shows
 * `fault` when the reporter's watchdog says the hub is gone. `startAgent` is also how the
 * hub's virtual cluster runs agents in-process (simulated line, injected clock and fetch).
 */
import { type Clock, realClock } from "../shared/clock.ts";
import { LibcLoadError, sleepThread } from "../shared/libc.ts";
import type { GpioLine } from "../shared/pins/gpio_line.ts";
import { type GpioBackend, openGpioLine } from "../shared/pins/open.ts";
import type {
  LedEngineKind,
  LedMode,
  Model,
  NodeHealth,
  NodeIdentity,
} from "../shared/wire_schemas.ts";
import { heartbeatJson } from "./heartbeat_json.ts";
import { KeptFileReader } from "./fs_root.ts";
import { readHealth, readIdentity } from "./identity.ts";
import { type BayLedEngine, LedEngine } from "./led/engine.ts";
import { KernelLedEngine } from "./led/kernel_engine.ts";
import {
  BAY_LED_NAME,
  type LedClassDevice,
  probeKernelLed,
  SysfsLedClass,
} from "./led/led_class.ts";
import { consoleLogger, type Logger } from "./log.ts";
import { ClusterError } from "../shared/errors.ts";
import { Reporter, type ReporterOptions } from "./reporter.ts";
import { ipv4Of, type SocketConnector } from "./sync_socket.ts";

/** The bay LED's BCM GPIO number on the BitScope Cluster Module. */
export const BAY_LED_GPIO = 21;

/** Options of {@link startAgent}. Only `hub` and `key` are required. The reporting options
 * (`intervalMs`, `timeoutMs`, `faultAfterMs`, `backoff`, `jitter`, `fetch`, `logger`) are the
 * reporter's own, documented there. */
export interface AgentOptions extends
  Pick<
    ReporterOptions,
    | "hub"
    | "key"
    | "intervalMs"
    | "timeoutMs"
    | "faultAfterMs"
    | "backoff"
    | "jitter"
    | "fetch"
    | "logger"
  > {
  /** Time source (default the real clock). */
  clock?: Clock;
  /**
   * Who blinks the LED: `kernel` (the bay LED node's pattern trigger; fails when it is
   * missing), `agent` (GPIO writes per edge), or `auto` (kernel where the node is usable, else
   * agent, said once in the log; the heartbeat carries the engine). Default: `agent` when
   * `line` is given or the GPIO backend is `sim`, else `auto`.
   */
  ledEngine?: LedEngineKind | "auto";
  /** The bay LED's class device (default `sysfsRoot`/class/leds/bay). Tests pass a model. */
  led?: LedClassDevice;
  /** A line to drive; if absent one is opened with `gpioBackend`. Released on stop. */
  line?: GpioLine;
  /** Backend used when `line` is absent (default "auto"). */
  gpioBackend?: GpioBackend;
  /** BCM GPIO of the LED (default 21). */
  gpio?: number;
  /** sysfs root for the sysfs backend (default "/sys"). */
  sysfsRoot?: string;
  /** Filesystem root for identity and health (default "/"). */
  root?: string;
  /** Identity overrides (config, flags, virtual agents). */
  node?: number;
  model?: Model;
  hostname?: string;
  /** Health source (default: read /proc and /sys under `root`). */
  health?: () => Promise<NodeHealth>;
  /**
   * LED timer lead (see LedEngineOptions.leadMs): sub-millisecond edges at the cost of
   * blocking the event loop up to this long per edge. Default 0: right for many in-process
   * agents (virtual cluster); the standalone agent (main.ts) uses 2.
   */
  ledLeadMs?: number;
  /**
   * With the kernel LED engine: after each good reply, the agent calls this with the time
   * (ms, at most 1000) until the next heartbeat and restart, and the standalone agent
   * (main.ts) passes {@link blockThread}. A timer of ~1 s costs two wake-ups on Deno's timer
   * wheel (its 64 ms slot, then the 1 ms one), a sleep of the thread one; the timers due by then
   * fire at once when the loop runs again. The event loop (a mode change) waits meanwhile; a
   * signal (SIGTERM) cuts the sleep short. Real clock and one agent per process only.
   */
  blockWhenIdle?: (ms: number) => void;
  /**
   * With the kernel LED engine and `blockWhenIdle`, for a plain `http://` hub given by its
   * IPv4 address and no `fetch`: heartbeats in passes over sockets of this connector, outside
   * the event loop (main.ts passes `connectTcp`). Each pass, once a second on the restart's
   * grid, reads the last reply without blocking, sends the next heartbeat and blocks until the
   * next pass: one wake-up a second (reporter.ts). Anything else takes the paths above.
   */
  heartbeatSocket?: SocketConnector;
}

/**
 * A heartbeat pass blocks this much past the next pass's instant, so that the timers set for
 * that instant (the restart's; Deno rounds a timer's delay up to the millisecond) are due when
 * the loop runs again, and none of them costs a wake-up of its own.
 */
export const PASS_OVERSHOOT_MS = 5;

/** The futex blockThread waits on where libc cannot be loaded; nothing ever wakes it. */
const IDLE_FUTEX = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the thread for `ms` (one wake-up when it ends), cut short when a signal's handler runs
 * on it (SIGTERM: the loop then runs its listener at once). Without libc (not Linux), a futex
 * wait that only times out.
 */
export function blockThread(ms: number): void {
  if (!(ms > 0)) return;
  try {
    sleepThread(ms);
  } catch (e) {
    if (!(e instanceof LibcLoadError)) throw e;
    Atomics.wait(IDLE_FUTEX, 0, 0, ms);
  }
}

/** A running agent. */
export interface AgentHandle {
  readonly identity: NodeIdentity;
  /** The GPIO line driven (none when the kernel blinks the LED). */
  readonly line: GpioLine | undefined;
  /** Who blinks the LED. */
  readonly ledEngine: LedEngineKind;
  /** The mode the LED shows now. */
  readonly ledMode: LedMode;
  /** What the hub last asked for (null: default heartbeat). */
  readonly hubRequested: LedMode | null;
  /** True while the hub has not answered for `faultAfterMs`. */
  readonly faulted: boolean;
  /** Heartbeats sent so far. */
  readonly sent: number;
  /** Stops reporting and the LED, drives the line off and releases it. Idempotent. */
  stop(): Promise<void>;
}

/** Starts an agent: opens the line, reads identity, starts the LED and the reporter. */
export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? consoleLogger;
  const root = opts.root ?? "/";
  const identity = await readIdentity({
    root,
    node: opts.node,
    model: opts.model,
    hostname: opts.hostname,
    hub: opts.hub,
  });
  const engine = await openEngine(opts, identity.model, clock, logger);
  const line = engine instanceof LedEngine ? engine.line : undefined;
  let hubRequested: LedMode | null = null;
  let faulted = false;
  let toldNode: number | undefined;
  const apply = () => engine.setMode(faulted ? "fault" : hubRequested ?? "heartbeat");
  // health files kept open: an lseek and a read each per heartbeat, not six system calls
  const files = new KeptFileReader();
  const health = opts.health ?? (() => readHealth(root, undefined, files));
  const toJson = heartbeatJson(identity, engine.kind);

  const block = opts.blockWhenIdle;
  const hub = new URL(opts.hub);
  const passes = block && engine.kind === "kernel" && !opts.fetch && hub.protocol === "http:" &&
      ipv4Of(hub.hostname)
    ? opts.heartbeatSocket
    : undefined;
  // In passes the restarts are the passes' first act, not the engine's timer: one timer less
  // a second, and a pass needs no turn of the event loop (reporter.ts).
  const kernelDriven = passes && engine instanceof KernelLedEngine ? engine : undefined;
  const idle = block && engine.kind === "kernel"
    ? (nextAt: number) => {
      const ms = Math.min(nextAt - clock.now(), 1000);
      if (ms > 0) block(passes ? ms + PASS_OVERSHOOT_MS : ms);
    }
    : undefined;
  const reporter = new Reporter({
    hub: opts.hub,
    key: opts.key,
    clock,
    intervalMs: opts.intervalMs,
    timeoutMs: opts.timeoutMs,
    faultAfterMs: opts.faultAfterMs,
    backoff: opts.backoff,
    jitter: opts.jitter,
    fetch: opts.fetch,
    logger,
    idle,
    socket: passes,
    onPass: kernelDriven && (() => kernelDriven.restart()),
    afterDueWork: () => engine.afterDueEdge(),
    heartbeat: async (seq, holdMs) => {
      await engine.afterDueEdge(); // an edge due on the same tick is written first
      return toJson(await health(), engine.mode, seq, Math.floor(clock.now()), holdMs);
    },
    onReply: (reply) => {
      // Said once, and again only if the hub's answer changes (not on every heartbeat).
      if (identity.node === undefined && reply.node !== toldNode) {
        toldNode = reply.node;
        logger.info(`hub says this is node ${reply.node}`);
      }
      hubRequested = reply.led;
      apply();
    },
    onFault: (f) => {
      faulted = f;
      apply();
    },
  });
  // One anchor for both timelines: the heartbeat and the LED's rising edge fall due together.
  const anchor = engine.timelineStart(clock.now());
  if (kernelDriven) kernelDriven.drive();
  else engine.start(anchor);
  reporter.start(anchor);
  logger.info(
    `agent ${identity.agentVersion} on ${identity.hostname} (${identity.model}, node ${
      identity.node ?? "?"
    }) reporting to ${opts.hub}; ${
      engine.kind === "kernel" ? "the kernel blinks the bay LED" : "the agent blinks the bay LED"
    }`,
  );

  let stopping: Promise<void> | undefined;
  return {
    identity,
    line,
    ledEngine: engine.kind,
    get ledMode() {
      return engine.mode;
    },
    get hubRequested() {
      return hubRequested;
    },
    get faulted() {
      return faulted;
    },
    get sent() {
      return reporter.sent;
    },
    stop() {
      stopping ??= (async () => {
        await reporter.stop();
        await engine.stop(); // the kernel's engine leaves the LED dark
        files.close();
        if (!line) return;
        try {
          await line.write(0);
        } catch (e) {
          logger.error(`could not turn the LED off: ${(e as Error).message}`);
        }
        try {
          await line.unexport();
        } catch (e) {
          logger.error(`could not release GPIO ${line.gpio}: ${(e as Error).message}`);
        }
      })();
      return stopping;
    },
  };
}

/**
 * The LED engine the options ask for: the kernel's where the bay LED node can run patterns
 * (`auto` falls back to the agent's, saying why once), else a GPIO line.
 */
async function openEngine(
  opts: AgentOptions,
  model: Model,
  clock: Clock,
  logger: Logger,
): Promise<BayLedEngine> {
  const choice = opts.ledEngine ??
    (opts.line || opts.gpioBackend === "sim" ? "agent" : "auto");
  if (choice !== "agent") {
    const led = opts.led ??
      new SysfsLedClass(`${opts.sysfsRoot ?? "/sys"}/class/leds/${BAY_LED_NAME}`);
    const probe = probeKernelLed(led);
    if (probe.ok) return new KernelLedEngine({ led: probe.led, clock, logger });
    if (choice === "kernel") {
      throw new ClusterError("hardware_fault", `--led-engine kernel: ${probe.reason}`);
    }
    logger.warn(`${probe.reason}: the agent blinks the bay LED itself (LED engine agent)`);
  }
  const line = opts.line ?? await openGpioLine({
    backend: opts.gpioBackend ?? "auto",
    gpio: opts.gpio ?? BAY_LED_GPIO,
    direction: "out",
    clock,
    sysfsRoot: opts.sysfsRoot,
  });
  return new LedEngine({ line, clock, model, logger, leadMs: opts.ledLeadMs ?? 0 });
}
