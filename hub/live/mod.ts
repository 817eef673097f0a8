/**
 * The live view, wired in one place: event stream (SSE + JSON), WebSocket interface,
 * dashboard, Prometheus metrics and the Ansible inventory. `createHub` adds `routes` to the
 * REST routes, `mounts` to the app, wraps the app with `instrument` and calls `close`.
 */
import type { Hono } from "hono";
import type { HttpObserver } from "../http/app.ts";
import type { ClusterService } from "../cluster/cluster_service.ts";
import type { RouteSpec } from "../http/route_spec.ts";
import { dashboardApp } from "./dashboard.ts";
import { inventoryRoutes } from "./inventory.ts";
import { HttpMetrics, metricsApp } from "./metrics.ts";
import { eventRoutes, type SseOptions, SseStreams } from "./sse.ts";
import { type WsOptions, wsRoutes, WsSessions } from "./ws.ts";

/** What the live view is built from. */
export interface LiveOptions {
  service: ClusterService;
  adminToken: string;
  version: string;
  sse?: SseOptions;
  ws?: WsOptions;
}

/** The live view's parts. */
export interface Live {
  routes: RouteSpec[];
  mounts: { path: string; app: Hono }[];
  http: HttpMetrics;
  /** Records each answered request (for /metrics); pass to createApp as `observe`. */
  observe: HttpObserver;
  /** Ends open event streams and WebSockets. */
  close(): void;
}

/** Builds the live view. */
export function createLive(opts: LiveOptions): Live {
  const { service } = opts;
  const streams = new SseStreams();
  const sessions = new WsSessions();
  const http = new HttpMetrics();
  return {
    routes: [
      ...eventRoutes(service.d.events, streams, opts.sse),
      ...wsRoutes(
        { service, adminToken: opts.adminToken, version: opts.version },
        sessions,
        opts.ws,
      ),
      ...inventoryRoutes(service),
    ],
    mounts: [
      { path: "/", app: metricsApp(service, http) },
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
