/**
 * The node agent, composed: identity, the LED engine on a GPIO line, and the reporter. The
 * LED loop does not depend on the hub: it keeps beating whatever the network does, and shows
 * `fault` when the reporter's watchdog says the hub is gone. `startAgent` is also how the
 * hub's virtual cluster runs agents in-process (simulated line, injected clock and fetch).
 */
import { type Clock, realClock } from "../shared/clock.ts";
import type { GpioLine } from "../shared/pins/gpio_line.ts";
import { type GpioBackend, openGpioLine } from "../shared/pins/open.ts";
import type { LedMode, Model, NodeHealth, NodeIdentity } from "../shared/wire_schemas.ts";
import { heartbeatJson } from "./heartbeat_json.ts";
import { readHealth, readIdentity } from "./identity.ts";
import { LedEngine } from "./led/engine.ts";
import { consoleLogger } from "./log.ts";
import { Reporter, type ReporterOptions } from "./reporter.ts";

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
}

/** A running agent. */
export interface AgentHandle {
  readonly identity: NodeIdentity;
  /** The GPIO line driven. */
  readonly line: GpioLine;
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
  });
  const line = opts.line ?? await openGpioLine({
    backend: opts.gpioBackend ?? "auto",
    gpio: opts.gpio ?? BAY_LED_GPIO,
    direction: "out",
    clock,
    sysfsRoot: opts.sysfsRoot,
  });
  const engine = new LedEngine({
    line,
    clock,
    model: identity.model,
    logger,
    leadMs: opts.ledLeadMs ?? 0,
  });
  let hubRequested: LedMode | null = null;
  let faulted = false;
  let toldNode: number | undefined;
  const apply = () => engine.setMode(faulted ? "fault" : hubRequested ?? "heartbeat");
  const health = opts.health ?? (() => readHealth(root));
  const toJson = heartbeatJson(identity);

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
    heartbeat: async (seq) => {
      await engine.afterDueEdge(); // an edge due on the same tick is written first
      return toJson(await health(), engine.mode, seq, Math.floor(clock.now()));
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
  const anchor = clock.now();
  engine.start(anchor);
  reporter.start(anchor);
  logger.info(
    `agent ${identity.agentVersion} on ${identity.hostname} (${identity.model}, node ${
      identity.node ?? "?"
    }) reporting to ${opts.hub}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    identity,
    line,
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
        await engine.stop();
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
