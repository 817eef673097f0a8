/**
 * Builds a whole hub from settings: store, event log, power driver, tracker, sequencer,
 * jobs, the small services and the HTTP app. It only wires; policy lives in the services.
 * `main.ts` serves it; tests build it in-process.
 */
import type { Hono } from "hono";
import { join } from "node:path";
import { type Clock, realClock } from "../shared/clock.ts";
import type { NodeMap } from "../shared/node_map.ts";
import { type LoadedSecret, loadOrCreateSecret } from "./auth/secrets.ts";
import { AgentAuthCounters, AgentKeys } from "./auth/agent_keys.ts";
import { AgentIngest } from "./cluster/agent_ingest.ts";
import { BootMonitor } from "./boot/boot_monitor.ts";
import {
  type BootTimeouts,
  ROM_DHCP_WINDOW_MS,
  scaleBootTimeouts,
  VENDOR_BOOT_TIMEOUTS,
} from "./boot/timeline.ts";
import { BootRecovery, DEFAULT_RECOVERY, type RecoveryPolicy } from "./cluster/boot_recovery.ts";
import { QuarantineList } from "./cluster/quarantine.ts";
import { PowerHealthWatch } from "./cluster/power_health.ts";
import { powerHealthRoutes } from "./http/routes/power_health.ts";
import { LastSeenKeeper } from "./cluster/last_seen.ts";
import { NodeSettings } from "./cluster/node_settings.ts";
import { NodeStatusReader } from "./cluster/node_status.ts";
import { NodeTracker } from "./cluster/node_tracker.ts";
import { PowerControl } from "./cluster/power_control.ts";
import { PowerSequencer, type SequencerOptions } from "./cluster/power_sequencer.ts";
import { BootstrapRunner } from "./cluster/runs/bootstrap_runner.ts";
import { type BootstrapTimings, scaleTimings, VENDOR_TIMINGS } from "./cluster/runs/bootstrap.ts";
import { MacLearning } from "./cluster/runs/mac_learning.ts";
import { Runs } from "./cluster/runs/runs.ts";
import { type HubSettings, moduleNameOf, nodeMapFor } from "./config.ts";
import { EventLog } from "./events/event_log.ts";
import { createApp } from "./http/app.ts";
import { clientError } from "./http/errors.ts";
import { loadConsoleSources } from "./console/console_config.ts";
import type { ConsoleSource } from "./console/console_source.ts";
import { Consoles } from "./console/consoles.ts";
import type { ConsoleLimits } from "./console/node_console.ts";
import { SimulatedConsoles } from "./console/simulated_console.ts";
import { consoleRoutes } from "./http/routes/console.ts";
import { coreRoutes } from "./http/routes/core.ts";
import { agentKeyRoutes } from "./http/routes/agent_keys.ts";
import { runRoutes } from "./http/routes/runs.ts";
import { macRoutes } from "./http/routes/macs.ts";
import { netbootRoutes } from "./http/routes/netboot.ts";
import { bootRoutes } from "./http/routes/boot.ts";
import { preflightRoutes } from "./http/routes/preflight.ts";
import { Preflight } from "./preflight/preflight.ts";
import { type PreflightProbes, realProbes } from "./preflight/probes.ts";
import { DenoProcessRunner } from "./netboot/runtime/process_runner.ts";
import { NetbootSupervisor } from "./netboot/runtime/supervisor.ts";
import { loadNetbootSettings } from "./netboot/settings/settings_file.ts";
import { JobRunner } from "./jobs/job_runner.ts";
import { createLive } from "./http/live.ts";
import type { GateFigures } from "./http/tcp_gate.ts";
import type { PowerSwitch } from "./power/power_switch.ts";
import { SimulatedModule } from "./power/simulated_module.ts";
import { SqliteStore } from "./store/sqlite_store.ts";
import type { Store } from "./store/store.ts";
import { VERSION } from "./version.ts";

/** How long `close()` lets running jobs finish before recording them as stopped. */
export const SHUTDOWN_GRACE_MS = 3000;

/** Test and embedding overrides. */
export interface HubOverrides {
  clock?: Clock;
  /** Power driver to use instead of the one the settings name. */
  power?: PowerSwitch;
  sequencer?: Partial<SequencerOptions>;
  /** How long close() waits for running jobs (default SHUTDOWN_GRACE_MS). */
  shutdownGraceMs?: number;
  /** Bootstrap and self-test timings (default: the vendor's, scaled by settings.timeScale). */
  timings?: BootstrapTimings;
  /** Boot-stage deadlines (default: the vendor's, scaled by settings.timeScale). */
  bootTimeouts?: BootTimeouts;
  /**
   * The Pi boot ROM's DHCP window after a first DISCOVER (default ROM_DHCP_WINDOW_MS scaled by
   * settings.timeScale; 0 when `bootTimeouts` is given and this is not: tests that set their
   * own deadlines keep them exact).
   */
  romDhcpWindowMs?: number;
  /** Boot recovery policy, or false for a bootstrap without supervision. */
  recovery?: RecoveryPolicy | false;
  /** Resolves MACs the learned table does not know (the virtual cluster's own MACs). */
  nodeForMac?: (mac: string) => number | undefined;
  /** DHCP and TFTP of LAN bays are observed (default: when netboot runs live). */
  netbootObserved?: boolean;
  /** The preflight's probes (default: the real ones). */
  preflightProbes?: PreflightProbes;
  /** How often last-heard times are written (default LAST_SEEN_FLUSH_MS). */
  lastSeenFlushMs?: number;
  /** Console sources by node, instead of the hardware config's (or the simulated ones). */
  consoles?: ReadonlyMap<number, ConsoleSource>;
  /** Console limits (viewers, buffers, reconnect backoff). */
  consoleLimits?: ConsoleLimits;
  /** The public port's figures for /metrics (main.ts passes its TcpGate's). */
  gate?: () => GateFigures | null;
}

/** A built hub: its services, each one small and keeping its dependencies to itself. */
export interface Hub {
  settings: HubSettings;
  map: NodeMap;
  /** Status reads: module, nodes, node ids and sets. */
  status: NodeStatusReader;
  /** Switching nodes and which job owns which node. */
  powerControl: PowerControl;
  /** LED requests, enabled bays, forgetting MACs. */
  nodeSettings: NodeSettings;
  /** Agent heartbeats. */
  ingest: AgentIngest;
  /** Self test and active test. */
  runs: Runs;
  macLearning: MacLearning;
  bootstrap: BootstrapRunner;
  netboot: NetbootSupervisor;
  /** Boot timelines (power-on, DHCP, TFTP, heartbeats) and stall detection. */
  boot: BootMonitor;
  /** Nodes quarantined after failed boot recovery. */
  quarantine: QuarantineList;
  /** Supervises boots: power-cycles stalls, then quarantines. */
  recovery: BootRecovery;
  /** The checks run before a bootstrap. */
  preflight: Preflight;
  jobs: JobRunner;
  events: EventLog;
  /** Every bay's serial console: history, viewers, writer. */
  consoles: Consoles;
  /** The simulated module's consoles (null with real hardware or configured consoles). */
  simulatedConsoles: SimulatedConsoles | null;
  tracker: NodeTracker;
  /** Stores when each bay was last heard, and restores it at start. */
  lastSeen: LastSeenKeeper;
  store: Store;
  app: Hono;
  token: LoadedSecret;
  /** The read-only token (reads with `--read-token required`). */
  readToken: LoadedSecret;
  /** The old shared agent key (accepted while `settings.sharedAgentKey` is not false). */
  agentKey: LoadedSecret;
  /** Per-node agent keys (derived from DATA/agent-secret). */
  agentKeys: AgentKeys;
  /** Refused and shared-key heartbeats. */
  agentCounters: AgentAuthCounters;
  /** Reads rails and restores desired state; call once before serving. */
  start(): Promise<void>;
  /** Stops runs as a cancel would, then timers; closes the store and driver. */
  close(): Promise<void>;
}

/** Builds a hub. The data directory is created if missing. */
export function createHub(settings: HubSettings, overrides: HubOverrides = {}): Hub {
  const clock = overrides.clock ?? realClock;
  Deno.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  // Secrets first: an unusable one stops the hub before the store is opened.
  const token = loadOrCreateSecret(join(settings.dataDir, "token"), settings.token);
  const agentKey = loadOrCreateSecret(join(settings.dataDir, "agent-key"), settings.agentKey);
  const agentSecret = loadOrCreateSecret(
    join(settings.dataDir, "agent-secret"),
    settings.agentSecret,
  );
  const agentKeys = new AgentKeys({
    secret: agentSecret.value,
    nodeCount: settings.nodeCount,
    sharedKey: agentKey.value,
    sharedKeyAllowed: settings.sharedAgentKey !== false,
  });
  const agentCounters = new AgentAuthCounters();
  const readToken = loadOrCreateSecret(join(settings.dataDir, "read-token"));
  const store = new SqliteStore(join(settings.dataDir, "hub.sqlite"));
  const map = nodeMapFor(settings);
  const module = moduleNameOf(settings);
  const events = new EventLog(store, clock, module);
  const power = overrides.power ??
    new SimulatedModule({ nodeCount: settings.nodeCount, clock });
  const tracker = new NodeTracker(settings.nodeCount, events, clock, settings.lostAfterMs);
  const lastSeen = new LastSeenKeeper({
    store,
    tracker,
    clock,
    nodeCount: settings.nodeCount,
    flushEveryMs: overrides.lastSeenFlushMs,
  });
  const sequencer = new PowerSequencer(power, map, tracker, events, clock, overrides.sequencer);
  const jobs = new JobRunner(store, events, clock, clientError);
  const timings = overrides.timings ?? scaleTimings(VENDOR_TIMINGS, settings.timeScale ?? 1);
  const status = new NodeStatusReader({
    map,
    store,
    tracker,
    powerDriver: power.name,
    module,
  });
  const powerControl = new PowerControl({ map, store, events, power, tracker, sequencer, jobs });
  const nodeSettings = new NodeSettings({ store, events, status });
  const quarantine = new QuarantineList({ store, tracker, events }, settings.nodeCount);
  const powerHealth = new PowerHealthWatch(map, events);
  const runDeps = { map, store, events, clock, tracker, sequencer, power: powerControl };
  const macLearning = new MacLearning(runDeps);
  const scale = settings.timeScale ?? 1;
  const learnedNode = (mac: string): number | undefined => {
    for (const [node, m] of macLearning.table.all()) if (m === mac) return node;
    return undefined;
  };
  let netbootLive = () => false;
  const boot = new BootMonitor({
    map,
    events,
    clock,
    store,
    timeouts: overrides.bootTimeouts ??
      scaleBootTimeouts({ ...VENDOR_BOOT_TIMEOUTS, ...settings.bootTimeouts }, scale),
    nodeForMac: (mac) => learnedNode(mac) ?? overrides.nodeForMac?.(mac),
    netbootObserved: (node) =>
      map.bays[node - 1].lan && (overrides.netbootObserved ?? netbootLive()),
    romDhcpWindowMs: overrides.romDhcpWindowMs ??
      (overrides.bootTimeouts ? 0 : Math.round(ROM_DHCP_WINDOW_MS * scale)),
  });
  const ingest = new AgentIngest({
    map,
    store,
    tracker,
    clock,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    counters: agentCounters,
    onHeartbeat: (node, report) => {
      boot.heartbeat(node, report.seq);
      powerHealth.observe(node, report.health.throttled);
    },
  });
  const recovery = new BootRecovery(
    { monitor: boot, power: powerControl, jobs, quarantine, events, clock },
    overrides.recovery || {
      retries: settings.bootRetries ?? DEFAULT_RECOVERY.retries,
      backoffMs: Math.max(1, Math.round(DEFAULT_RECOVERY.backoffMs * scale)),
    },
  );
  const runs = new Runs({ ...runDeps, selfTest: timings.selfTest });
  const bootstrap = new BootstrapRunner({
    ...runDeps,
    quarantine,
    ...(overrides.recovery === false ? {} : { recovery }),
  }, timings);
  const netbootSettings = loadNetbootSettings(
    map,
    join(settings.dataDir, "netboot"),
    settings.netbootConfigPath,
  );
  const netboot = new NetbootSupervisor({
    map,
    settings: netbootSettings,
    macs: macLearning.table,
    emit: (type, node, message, data) => events.emit(type, node, message, data),
    learningTarget: () => macLearning.learningTarget(),
    isPoweredOn: (node) => tracker.get(node).actual === "on",
    agentKeyFor: (node) => agentKeys.keyFor(node),
    clock,
    onLogLine: (line) => boot.ingestLine(line),
  });
  netbootLive = () => netboot.live;
  const preflight = new Preflight({
    map,
    settings: netbootSettings,
    mode: () => netboot.mode,
    netbootChecks: () => netboot.checks(),
    probes: overrides.preflightProbes ?? realProbes(new DenoProcessRunner()),
    clock,
  });
  // Consoles: the hardware config's, else on the simulated module one per bay.
  const configured = overrides.consoles ??
    (settings.powerConfigPath
      ? loadConsoleSources(settings.powerConfigPath, settings.nodeCount)
      : undefined);
  const simConsoles = !configured && power instanceof SimulatedModule
    ? new SimulatedConsoles({ sim: power, map, clock, bootMs: settings.simBootMs })
    : null;
  const consoles = new Consoles({
    sources: configured ?? simConsoles?.sources() ?? new Map(),
    dir: join(settings.dataDir, "console"),
    clock,
    emit: (type, node, message, data) => events.emit(type, node, message, data),
    limits: overrides.consoleLimits,
  });
  // A rail that goes on starts a boot: its console gets a marker line. A rail that goes off
  // ends the node's identify request (its LED is dark). A self test's pulses are no boots.
  const unfollowPower = events.subscribe((e) => {
    if (e.type !== "power_changed" || e.node === null || e.data.selfTest) return;
    if (e.data.to === "on") consoles.markPowerOn(e.node, e.at);
    if (e.data.to === "off") nodeSettings.endIdentify(e.node);
  });
  const startedAt = clock.now();
  const live = createLive({
    status,
    power: powerControl,
    settings: nodeSettings,
    events,
    jobs,
    clock,
    adminToken: token.value,
    readToken: readToken.value,
    version: VERSION,
    agentAuth: agentCounters,
    limits: settings.limits,
    storeHealth: () => store.health(),
    gate: overrides.gate,
  });
  const app = createApp({
    routes: [
      ...coreRoutes(
        {
          status,
          power: powerControl,
          settings: nodeSettings,
          ingest,
          jobs,
          clock,
          recovery,
          storeHealth: () => store.health(),
        },
        VERSION,
        startedAt,
      ),
      ...runRoutes({ status, settings: nodeSettings, runs, bootstrap, preflight }),
      ...preflightRoutes({ preflight }),
      ...powerHealthRoutes({ status }),
      ...bootRoutes({ status, boot, quarantine }),
      ...netbootRoutes({ map, macs: macLearning.table, supervisor: netboot }),
      ...consoleRoutes({ status, consoles }),
      ...macRoutes(
        { status, settings: nodeSettings, learning: macLearning },
        () => netboot.apply(),
      ),
      ...agentKeyRoutes({ status, keys: agentKeys }),
      ...live.routes,
    ],
    auth: {
      adminToken: token.value,
      readToken: readToken.value,
      readsNeedToken: settings.readToken === "required",
      agentKeys,
      agentCounters,
    },
    storeHealth: () => store.health(),
    version: VERSION,
    observe: live.observe,
    mounts: live.mounts,
  });
  return {
    settings,
    map,
    status,
    powerControl,
    nodeSettings,
    ingest,
    runs,
    macLearning,
    bootstrap,
    netboot,
    boot,
    quarantine,
    recovery,
    preflight,
    jobs,
    events,
    consoles,
    simulatedConsoles: simConsoles,
    tracker,
    lastSeen,
    store,
    app,
    token,
    readToken,
    agentKey,
    agentKeys,
    agentCounters,
    async start() {
      lastSeen.start();
      bootstrap.recoverInterrupted();
      // Capturing before the rails are restored: a restored node's boot log is kept.
      consoles.start();
      await powerControl.start();
      await netboot.start();
    },
    async close() {
      live.close();
      unfollowPower();
      // Runs start stopping (like a cancel) at once, while netboot stops.
      jobs.stopRuns();
      recovery.close();
      await netboot.stop();
      await jobs.shutdown(overrides.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
      boot.close();
      powerHealth.close();
      tracker.close();
      await lastSeen.close();
      simConsoles?.close();
      await consoles.close();
      events.close();
      await power.close();
      store.close();
    },
  };
}
