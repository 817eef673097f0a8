/**
 * The live view, wired in one place: event stream (SSE + JSON), WebSocket interface,
 * dashboard, Prometheus metrics and the Ansible inventory. `createHub` adds `routes` to the
 * REST routes, `mounts` to the app, wraps the app with `instrument` and calls `close`.
 */
import { Hono } from "hono";
import type { ClusterService } from "../cluster/cluster_service.ts";
import { errorResponse, toClusterError } from "../http/app.ts";
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
  /** Wraps the app so every request is counted and timed (by matched route pattern). */
  instrument(app: Hono): Hono;
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
    instrument(inner: Hono): Hono {
      const outer = new Hono();
      outer.onError((err, c) => errorResponse(c, toClusterError(err)));
      outer.use("*", http.middleware());
      outer.route("/", inner);
      // Unmatched here is unmatched there: let the inner app answer with its JSON 404.
      outer.notFound((c) => inner.fetch(c.req.raw, c.env));
      return outer;
    },
    close() {
      streams.closeAll();
      sessions.closeAll();
    },
  };
}
