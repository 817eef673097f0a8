/**
 * Builds a whole hub from settings: store, event log, power driver, tracker, sequencer,
 * jobs, service and HTTP app. `main.ts` serves it; tests build it in-process.
 */
import type { Hono } from "hono";
import { join } from "node:path";
import { type Clock, realClock } from "../shared/clock.ts";
import { buildNodeMap, type NodeMap } from "../shared/node_map.ts";
import { type LoadedSecret, loadOrCreateSecret } from "./auth/secrets.ts";
import { ClusterService } from "./cluster/cluster_service.ts";
import { NodeTracker } from "./cluster/node_tracker.ts";
import { PowerSequencer, type SequencerOptions } from "./cluster/power_sequencer.ts";
import type { HubSettings } from "./config.ts";
import { EventLog } from "./events/event_log.ts";
import { createApp } from "./http/app.ts";
import { coreRoutes } from "./http/routes/core.ts";
import { runRoutes } from "./http/routes/runs.ts";
import { macRoutes } from "./http/routes/macs.ts";
import { netbootRoutes } from "./netboot/routes.ts";
import { NetbootSupervisor } from "./netboot/supervisor.ts";
import { loadNetbootSettings } from "./netboot/settings_file.ts";
import type { MacTable } from "./netboot/mac_learner.ts";
import { BootstrapRunner } from "./cluster/runs/bootstrap_runner.ts";
import { type BootstrapTimings, scaleTimings, VENDOR_TIMINGS } from "./cluster/runs/bootstrap.ts";
import { JobRunner } from "./jobs/job_runner.ts";
import { createLive } from "./live/mod.ts";
import type { PowerSwitch } from "./power/power_switch.ts";
import { SimulatedModule } from "./power/simulated_module.ts";
import { SqliteStore } from "./store/sqlite_store.ts";
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
}

/** A built hub. */
export interface Hub {
  settings: HubSettings;
  map: NodeMap;
  service: ClusterService;
  bootstrap: BootstrapRunner;
  netboot: NetbootSupervisor;
  events: EventLog;
  app: Hono;
  token: LoadedSecret;
  agentKey: LoadedSecret;
  /** Reads rails and restores desired state; call once before serving. */
  start(): Promise<void>;
  /** Stops timers and closes the store and driver. */
  close(): Promise<void>;
}

/** Builds a hub. The data directory is created if missing. */
export function createHub(settings: HubSettings, overrides: HubOverrides = {}): Hub {
  const clock = overrides.clock ?? realClock;
  Deno.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteStore(join(settings.dataDir, "hub.sqlite"));
  const token = loadOrCreateSecret(join(settings.dataDir, "token"), settings.token);
  const agentKey = loadOrCreateSecret(join(settings.dataDir, "agent-key"), settings.agentKey);
  const map = buildNodeMap({
    nodeCount: settings.nodeCount,
    ...(settings.assetTag ? { assetTag: settings.assetTag } : {}),
    // The vendor's Zero W row exists on the 60-bay module; a 48-bay module is all LAN.
    ...(settings.zeroBays !== undefined
      ? { zeroBays: settings.zeroBays }
      : settings.nodeCount === 48
      ? { zeroBays: "" }
      : {}),
  });
  const events = new EventLog(store, clock);
  const power = overrides.power ??
    new SimulatedModule({ nodeCount: settings.nodeCount, clock });
  const tracker = new NodeTracker(settings.nodeCount, events, clock, settings.lostAfterMs);
  const sequencer = new PowerSequencer(power, map, tracker, events, clock, overrides.sequencer);
  const jobs = new JobRunner(store, events, clock);
  const timings = overrides.timings ?? scaleTimings(VENDOR_TIMINGS, settings.timeScale ?? 1);
  const service = new ClusterService({
    map,
    store,
    events,
    clock,
    power,
    tracker,
    sequencer,
    jobs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    selfTest: timings.selfTest,
  });
  const bootstrap = new BootstrapRunner(service, timings);
  const macs: MacTable = {
    all: () =>
      new Map(store.nodes(map.bays.length).filter((r) => r.mac).map((r) => [r.id, r.mac!])),
    set: (node, mac) => store.updateNode(node, { mac }),
  };
  const netboot = new NetbootSupervisor({
    map,
    settings: loadNetbootSettings(
      map,
      join(settings.dataDir, "netboot"),
      settings.netbootConfigPath,
    ),
    macs,
    emit: (type, node, message, data) => events.emit(type, node, message, data),
    // Learn only when exactly one bay without a MAC is booting: never guess between two.
    learningTarget: () => {
      const waiting = map.bays.filter((b) =>
        tracker.get(b.id).lifecycle === "booting" && store.node(b.id).mac === null
      );
      if (waiting.length !== 1) return null;
      const node = waiting[0].id;
      return { node, since: Math.floor(tracker.get(node).poweredOnAt ?? clock.now()) };
    },
    isPoweredOn: (node) => tracker.get(node).actual === "on",
    clock,
  });
  const startedAt = clock.now();
  const live = createLive({ service, adminToken: token.value, version: VERSION });
  const app = createApp({
    routes: [
      ...coreRoutes(service, VERSION, startedAt),
      ...runRoutes(service, bootstrap),
      ...netbootRoutes({ map, macs, supervisor: netboot }),
      ...macRoutes(service, () => netboot.apply()),
      ...live.routes,
    ],
    auth: { adminToken: token.value, agentKey: agentKey.value },
    version: VERSION,
    observe: live.observe,
    mounts: live.mounts,
  });
  return {
    settings,
    map,
    service,
    bootstrap,
    netboot,
    events,
    app,
    token,
    agentKey,
    async start() {
      bootstrap.recoverInterrupted();
      await service.start();
      await netboot.start();
    },
    async close() {
      live.close();
      await netboot.stop();
      await jobs.shutdown(overrides.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
      tracker.close();
      events.close();
      await power.close();
      store.close();
    },
  };
}
