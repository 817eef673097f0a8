/**
 * The live view, wired in one place: event stream (SSE + JSON), WebSocket interface,
 * dashboard, Prometheus metrics and the Ansible inventory. `createHub` adds `routes` to the
 * REST routes and `mounts` to the app, passes `observe` to the app for request metrics and
 * calls `close` on shutdown.
 */
import type { Hono } from "hono";
import type { HttpObserver } from "./observe.ts";
import type { Clock } from "../../shared/clock.ts";
import type { NodeSettings } from "../cluster/node_settings.ts";
import type { NodeStatusReader } from "../cluster/node_status.ts";
import type { PowerControl } from "../cluster/power_control.ts";
import type { EventLog } from "../events/event_log.ts";
import type { AgentAuthCounters } from "../auth/agent_keys.ts";
import type { JobRunner } from "../jobs/job_runner.ts";
import type { MountedRouteDoc, RouteSpec } from "./route.ts";
import { dashboardApp } from "./routes/dashboard.ts";
import { inventoryRoutes } from "./routes/inventory.ts";
import { HttpMetrics, METRICS_DOC, metricsApp } from "./routes/metrics.ts";
import { eventRoutes, type SseOptions, SseStreams } from "./routes/events.ts";
import { type WsOptions, wsRoutes, WsSessions } from "./routes/ws.ts";
import { type CapLimits, ConnectionCaps } from "./connection_caps.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import type { StoreHealth } from "../store/store.ts";
import type { GateFigures } from "./tcp_gate.ts";

/** What the live view is built from. */
export interface LiveOptions {
  status: NodeStatusReader;
  power: PowerControl;
  settings: NodeSettings;
  events: EventLog;
  jobs: JobRunner;
  clock: Clock;
  adminToken: string;
  /** The read-only token (DATA/read-token). */
  readToken?: string;
  version: string;
  /** Refused and shared-key heartbeats, for /metrics. */
  agentAuth?: AgentAuthCounters;
  sse?: SseOptions;
  ws?: WsOptions;
  /** Whether the store takes writes (for /metrics). */
  storeHealth?: () => StoreHealth;
  /** The public port's figures (for /metrics), when the hub serves through a TcpGate. */
  gate?: () => GateFigures | null;
  /** Caps on WebSockets and event streams (default: those of DEFAULT_LIMITS). */
  limits?: { ws: CapLimits; sse: CapLimits };
}

/** The live view's parts. */
export interface Live {
  routes: RouteSpec[];
  mounts: { path: string; app: Hono; docs?: MountedRouteDoc[] }[];
  http: HttpMetrics;
  /** Records each answered request (for /metrics); pass to createApp as `observe`. */
  observe: HttpObserver;
  /** Ends open event streams and WebSockets. */
  close(): void;
}

/** Builds the live view. */
export function createLive(opts: LiveOptions): Live {
  const { status, power, settings, events, jobs, clock } = opts;
  const streams = new SseStreams();
  const sessions = new WsSessions();
  const http = new HttpMetrics();
  const startedAt = clock.now();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  return {
    routes: [
      ...eventRoutes(events, streams, new ConnectionCaps(limits.sse), opts.sse),
      ...wsRoutes(
        {
          status,
          power,
          settings,
          events,
          jobs,
          adminToken: opts.adminToken,
          readToken: opts.readToken,
          version: opts.version,
        },
        sessions,
        new ConnectionCaps(limits.ws),
        opts.ws,
      ),
      ...inventoryRoutes(status),
    ],
    mounts: [
      {
        path: "/",
        app: metricsApp(
          {
            status,
            clock,
            jobs,
            events,
            storeHealth: opts.storeHealth,
            gate: opts.gate,
            agentAuth: opts.agentAuth,
            startedAt,
          },
          http,
        ),
        docs: [METRICS_DOC],
      },
      { path: "/", app: dashboardApp() },
    ],
    http,
    observe: (method, route, status, seconds) => http.observe(method, route, status, seconds),
    close() {
      streams.closeAll();
      sessions.closeAll();
    },
  };
}
