/**
 * The composition root: the one place that builds a hub. It opens the hardware the settings
 * name (the control-plane lock and the power driver, or the simulated module), builds store,
 * event log, tracker, sequencer, jobs, the small services, the virtual cluster and the HTTP
 * app. It only wires; policy lives in the services. `main.ts` serves what `openHub` builds;
 * scripts and benchmarks serve it on loopback with `serveLocalHub`; tests build it in-process
 * with `createHub`.
 */
import type { Hono } from "hono";
import { join } from "node:path";
import { type Clock, realClock } from "../shared/clock.ts";
import type { NodeMap } from "../shared/node_map.ts";
import { type LoadedSecret, loadOrCreateSecret } from "./auth/secrets.ts";
import { AgentAuthCounters, AgentKeys } from "./auth/agent_keys.ts";
import { AgentIngest } from "./cluster/agent_ingest.ts";
import { HeldReplies } from "./cluster/held_replies.ts";
import { BootMonitor } from "./boot/boot_monitor.ts";
import { type BootTimeouts, scaledBootDeadlines } from "./boot/timeline.ts";
import { BootRecovery, type RecoveryPolicy, scaledRecovery } from "./cluster/boot_recovery.ts";
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
import { openConfiguredPowerSwitch } from "./power/from_config.ts";
import { acquireHardwareLock, type HardwareLock } from "./power/hardware_lock.ts";
import { SimulatedModule } from "./power/simulated_module.ts";
import { VirtualCluster, virtualNodeForMac } from "./virtual/virtual_cluster.ts";
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
  /**
   * Where the virtual cluster's agents report (the hub's agent listener, e.g.
   * `http://127.0.0.1:4242`). With `settings.virtualAgents` on the simulated module, powered
   * bays boot into agents reporting there; without it no virtual cluster runs.
   */
  agentUrl?: string;
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
  /**
   * Heartbeat replies held for a change (`holdMs`); `drain()` answers them at once and waits
   * until they are written: call it before stopping the HTTP server, which cuts them off.
   */
  heldReplies: HeldReplies;
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
  /** Agents on the simulated module's powered bays (null unless settings.virtualAgents). */
  virtual: VirtualCluster | null;
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
  /**
   * Reads rails, restores desired state, starts netboot, then the virtual cluster; call once,
   * once the port is taken.
   */
  start(): Promise<void>;
  /**
   * Stops the virtual cluster, runs as a cancel would, then timers; closes the store and the
   * driver, and releases the control-plane lock.
   */
  close(): Promise<void>;
}

/** The hardware a hub drives: its power driver, and the lock held while a real one is open. */
interface Hardware {
  power: PowerSwitch;
  lock: HardwareLock | null;
}

/** The simulated module for these settings (the one place it is built). */
function simulatedModule(settings: HubSettings, clock: Clock): SimulatedModule {
  return new SimulatedModule({ map: nodeMapFor(settings), clock });
}

/**
 * Opens the driver the settings name: the power config's (real hardware only while this
 * process holds the control-plane lock: one hub per module, whatever its data directory or
 * port), else the simulated module.
 */
async function openHardware(settings: HubSettings, clock: Clock): Promise<Hardware> {
  if (!settings.powerConfigPath) return { power: simulatedModule(settings, clock), lock: null };
  const lock = acquireHardwareLock();
  try {
    const power = await openConfiguredPowerSwitch(
      settings.powerConfigPath,
      () => simulatedModule(settings, clock),
      nodeMapFor(settings),
    );
    return { power, lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Opens a hub as the settings describe it: hardware (lock and driver, or the simulated
 * module), then data directory, secrets, store and services. Nothing runs until `start()`.
 * A failure after the driver is open closes it and releases the lock.
 */
export async function openHub(settings: HubSettings, options: HubOverrides = {}): Promise<Hub> {
  const hardware = options.power
    ? { power: options.power, lock: null }
    : await openHardware(settings, options.clock ?? realClock);
  try {
    return wireHub(settings, options, hardware);
  } catch (e) {
    await hardware.power.close();
    hardware.lock?.release();
    throw e;
  }
}

/**
 * Builds a hub in-process on `overrides.power`, by default the simulated module (tests).
 * The data directory is created if missing.
 */
export function createHub(settings: HubSettings, overrides: HubOverrides = {}): Hub {
  const power = overrides.power ?? simulatedModule(settings, overrides.clock ?? realClock);
  return wireHub(settings, overrides, { power, lock: null });
}

/** A hub served on a loopback port, for scripts and benchmarks. */
export interface LocalHub {
  hub: Hub;
  /** Its base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** Stops serving, then closes the hub. */
  close(): Promise<void>;
}

/**
 * Opens a hub with `openHub`, serves it on a random 127.0.0.1 port (plain `Deno.serve`, no
 * gate) and starts it; with `settings.virtualAgents` the virtual cluster reports there.
 */
export async function serveLocalHub(
  settings: HubSettings,
  options: Omit<HubOverrides, "agentUrl" | "gate"> = {},
): Promise<LocalHub> {
  let hub: Hub | null = null;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req, info) => hub ? hub.app.fetch(req, info) : new Response("starting", { status: 503 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    hub = await openHub(settings, { ...options, agentUrl: url });
    await hub.start();
  } catch (e) {
    ac.abort();
    await server.finished;
    await hub?.close();
    throw e;
  }
  const opened = hub;
  return {
    hub: opened,
    url,
    async close() {
      await opened.heldReplies.drain(); // answered and written before the server stops
      ac.abort();
      await server.finished;
      await opened.close();
    },
  };
}

/**
 * Appends a dhcp-script hook line to the file the lease watcher reads, as dnsmasq's hook does
 * (a failure is reported, never fatal: it only costs MAC learning).
 */
function appendLeaseLine(file: string, line: string): void {
  try {
    Deno.writeTextFileSync(file, `${line}\n`, { append: true });
  } catch (e) {
    console.error(`hub: cannot append to ${file}: ${e instanceof Error ? e.message : e}`);
  }
}

/** Wires the services over opened hardware. */
function wireHub(settings: HubSettings, overrides: HubOverrides, hardware: Hardware): Hub {
  const clock = overrides.clock ?? realClock;
  const { power } = hardware;
  // The virtual cluster: real agents on the simulated module's rails. It netboots with MACs of
  // its own, and its dnsmasq log is observed.
  const sim = power instanceof SimulatedModule ? power : null;
  const virtualOn = settings.virtualAgents && sim !== null && overrides.agentUrl !== undefined;
  const nodeForMac = overrides.nodeForMac ?? (virtualOn ? virtualNodeForMac : undefined);
  const netbootObserved = overrides.netbootObserved ?? (virtualOn ? true : undefined);
  Deno.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  // Secrets first: an unusable one stops the hub before the store is opened.
  const token = loadOrCreateSecret(join(settings.dataDir, "token"), settings.token);
  const agentKey = loadOrCreateSecret(join(settings.dataDir, "agent-key"), settings.agentKey);
  const agentSecret = loadOrCreateSecret(
    join(settings.dataDir, "agent-secret"),
    settings.agentSecret,
  );
  const map = nodeMapFor(settings);
  const agentKeys = new AgentKeys({
    secret: agentSecret.value,
    map,
    sharedKey: agentKey.value,
    sharedKeyAllowed: settings.sharedAgentKey !== false,
  });
  const agentCounters = new AgentAuthCounters();
  const readToken = loadOrCreateSecret(join(settings.dataDir, "read-token"));
  const store = new SqliteStore(join(settings.dataDir, "hub.sqlite"));
  const module = moduleNameOf(settings);
  const events = new EventLog(store, clock, module);
  const tracker = new NodeTracker(map, events, clock, settings.lostAfterMs, store);
  const lastSeen = new LastSeenKeeper({
    store,
    tracker,
    clock,
    map,
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
  const nodeSettings = new NodeSettings({ store, events, status, tracker });
  const quarantine = new QuarantineList({ map, store, tracker, events });
  const powerHealth = new PowerHealthWatch(map, events);
  const runDeps = { map, store, events, clock, tracker, sequencer, power: powerControl };
  const macLearning = new MacLearning(runDeps);
  const scale = settings.timeScale ?? 1;
  // Deadlines a test gives are kept exact (no ROM window unless it asks for one).
  const deadlines = overrides.bootTimeouts
    ? { timeouts: overrides.bootTimeouts, romDhcpWindowMs: 0 }
    : scaledBootDeadlines(scale, settings.bootTimeouts);
  let netbootLive = () => false;
  const boot = new BootMonitor({
    map,
    events,
    clock,
    store,
    timeouts: deadlines.timeouts,
    nodeForMac: (mac) => macLearning.table.nodeOf(mac) ?? nodeForMac?.(mac),
    netbootObserved: () => netbootObserved ?? netbootLive(),
    romDhcpWindowMs: overrides.romDhcpWindowMs ?? deadlines.romDhcpWindowMs,
  });
  const ingest = new AgentIngest({
    map,
    store,
    tracker,
    clock,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    counters: agentCounters,
  });
  const heldReplies = new HeldReplies({
    clock,
    subscribe: (listener) => events.subscribeNodes((u) => listener(u.node)),
  });
  const recovery = new BootRecovery(
    { monitor: boot, power: powerControl, jobs, quarantine, events, clock },
    overrides.recovery || scaledRecovery(scale, settings.bootRetries),
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
    (settings.powerConfigPath ? loadConsoleSources(settings.powerConfigPath, map) : undefined);
  const simConsoles = !configured && sim
    ? new SimulatedConsoles({ sim, map, clock, bootMs: settings.simBootMs })
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
  const virtual = virtualOn
    ? new VirtualCluster({
      sim: sim!,
      map,
      hubUrl: overrides.agentUrl!,
      agentKeyFor: (node) => agentKeys.keyFor(node),
      bootDelayMs: settings.simBootMs,
      intervalMs: settings.heartbeatIntervalMs,
      clock,
      onLogLine: (line) => boot.ingestLine(line),
      onLease: (line) => appendLeaseLine(netboot.leaseEventsFile, line),
      faults: new Map(settings.simFaults?.map((f) => [f.node, f])),
    })
    : null;
  if (virtual) simConsoles?.followFaults((node) => virtual.bootFault(node));
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
          held: heldReplies,
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
    heldReplies,
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
    virtual,
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
      // On the simulated module, powered bays boot into real agents.
      virtual?.attach();
    },
    async close() {
      heldReplies.close();
      await virtual?.close();
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
      hardware.lock?.release();
      store.close();
    },
  };
}
