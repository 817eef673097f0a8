/**
 * `GET /metrics`: Prometheus text exposition format 0.0.4. Node figures come from the
 * status reads (power rails, lifecycle, the agents' reports), job and event counters from the
 * JobRunner and EventLog, HTTP figures from {@link HttpMetrics}' middleware. Every sample carries
 * the hub's `module` label (a fleet of hubs feeds one Prometheus).
 */
import { Hono } from "hono";
import { Lifecycle } from "../../../shared/schemas.ts";
import type { Clock } from "../../../shared/clock.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import { powerHealthReport } from "../../cluster/power_health.ts";
import { decodeThrottled } from "../../../shared/throttled.ts";
import type { EventLog } from "../../events/event_log.ts";
import type { AgentAuthCounters } from "../../auth/agent_keys.ts";
import type { JobRunner } from "../../jobs/job_runner.ts";
import type { MountedRouteDoc } from "../route.ts";
import type { StoreHealth } from "../../store/store.ts";
import type { GateFigures } from "../tcp_gate.ts";
import { type ProcessFaults, processFaults } from "../../process_faults.ts";

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds of the request duration histogram, seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Formats a sample value (integers plainly, +Inf/-Inf/NaN as Prometheus spells them). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

type Labels = Record<string, string | number>;

/** Builds one exposition document, family by family. */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #constant: string;

  /** `constant`: labels put first on every sample (the hub's `module`). */
  constructor(constant: Labels = {}) {
    this.#constant = Object.entries(constant)
      .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(",");
  }

  /** Starts a metric family with its HELP and TYPE lines. */
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    const h = help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
    this.#lines.push(`# HELP ${name} ${h}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** A family of one sample without labels. */
  single(name: string, type: "counter" | "gauge", help: string, value: number): this {
    return this.family(name, type, help).sample(name, {}, value);
  }

  /** A family of one sample per value of one label. */
  byLabel(
    name: string,
    type: "counter" | "gauge",
    help: string,
    label: string,
    values: Iterable<[string, number]>,
  ): this {
    this.family(name, type, help);
    for (const [v, n] of values) this.sample(name, { [label]: v }, n);
    return this;
  }

  /** Adds one sample. */
  sample(name: string, labels: Labels, value: number): this {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
    if (this.#constant) pairs.unshift(this.#constant);
    this.#lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** Requests of one method and route: counts per status and a duration histogram. */
interface RouteSeries {
  method: string;
  route: string;
  byStatus: Map<number, number>;
  /** Non-cumulative: index i counts durations in (bucket i-1, bucket i]; the last is > 10 s. */
  buckets: number[];
  count: number;
  sum: number;
}

/** HTTP methods kept as label values; anything else is counted as OTHER. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** Counts HTTP requests by method, matched route pattern and status; times them. */
export class HttpMetrics {
  /** One entry per method and route pattern (the hot path does one lookup per request). */
  readonly #series = new Map<string, RouteSeries>();

  /** Records one request. */
  observe(anyMethod: string, route: string, status: number, seconds: number): void {
    // Only standard methods become label values: any other verb would add a series.
    const method = KNOWN_METHODS.has(anyMethod) ? anyMethod : "OTHER";
    const key = method + " " + route;
    let r = this.#series.get(key);
    if (!r) {
      r = {
        method,
        route,
        byStatus: new Map(),
        buckets: new Array(DURATION_BUCKETS.length + 1).fill(0),
        count: 0,
        sum: 0,
      };
      this.#series.set(key, r);
    }
    r.byStatus.set(status, (r.byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    r.buckets[i]++;
    r.count++;
    r.sum += seconds;
  }

  /** Appends the HTTP families. */
  render(out: Exposition): void {
    out.family(
      "cluster_http_requests_total",
      "counter",
      "HTTP requests answered, by method, route pattern and status.",
    );
    for (const r of this.#series.values()) {
      for (const [status, n] of r.byStatus) {
        out.sample(
          "cluster_http_requests_total",
          { method: r.method, route: r.route, status },
          n,
        );
      }
    }
    out.family(
      "cluster_http_request_duration_seconds",
      "histogram",
      "Time to answer an HTTP request (to the response head for streams), seconds.",
    );
    for (const r of this.#series.values()) {
      const base = { method: r.method, route: r.route };
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += r.buckets[i];
        out.sample(
          "cluster_http_request_duration_seconds_bucket",
          { ...base, le: String(le) },
          cumulative,
        );
      });
      out.sample("cluster_http_request_duration_seconds_bucket", { ...base, le: "+Inf" }, r.count);
      out.sample("cluster_http_request_duration_seconds_sum", base, r.sum);
      out.sample("cluster_http_request_duration_seconds_count", base, r.count);
    }
  }
}

/** What the metrics are read from. */
export interface MetricsSources {
  status: NodeStatusReader;
  clock: Clock;
  jobs: JobRunner;
  events: EventLog;
  /** Whether the store takes writes (`cluster_store_degraded`). */
  storeHealth?: () => StoreHealth;
  /** Failures caught instead of ending the process (default: this process's). */
  faults?: ProcessFaults;
  /** The public port's figures (connections, WebSocket assembly), when served through a gate. */
  gate?: () => GateFigures | null;
  /** Refused and shared-key heartbeats (absent: not rendered). */
  agentAuth?: AgentAuthCounters;
  /** When the hub started, ms since the epoch (a change of it is a restart). */
  startedAt?: number;
}

/** The whole exposition document for the hub's current state. */
export function renderMetrics(src: MetricsSources, http: HttpMetrics): string {
  // Every sample names its module: series from many hubs stay apart in one Prometheus.
  const out = new Exposition({ module: src.status.module });
  const nodes = src.status.nodes();
  const now = src.clock.now();

  out.family("cluster_node_power_on", "gauge", "1 when the node's power rail is on, else 0.");
  for (const n of nodes) {
    out.sample(
      "cluster_node_power_on",
      { node: n.id, bus: n.bus, slot: n.slot, hostname: n.hostname },
      n.power.actual === "on" ? 1 : 0,
    );
  }
  out.family(
    "cluster_node_lifecycle",
    "gauge",
    "Node lifecycle state, one-hot: 1 for the current state, 0 for the others.",
  );
  for (const n of nodes) {
    for (const state of Lifecycle.options) {
      out.sample("cluster_node_lifecycle", { node: n.id, state }, n.lifecycle === state ? 1 : 0);
    }
  }
  out.family(
    "cluster_node_heartbeat_age_seconds",
    "gauge",
    "Seconds since the node agent's last heartbeat (nodes that have sent one).",
  );
  for (const n of nodes) {
    if (n.lastHeartbeatAt === null) continue;
    out.sample(
      "cluster_node_heartbeat_age_seconds",
      { node: n.id },
      Math.max(0, (now - n.lastHeartbeatAt) / 1000),
    );
  }
  const agentGauge = (
    name: string,
    help: string,
    pick: (h: NonNullable<(typeof nodes)[number]["agent"]>["health"]) => number | null,
  ) => {
    out.family(name, "gauge", help);
    for (const n of nodes) {
      const v = n.agent ? pick(n.agent.health) : null;
      if (v !== null) out.sample(name, { node: n.id }, v);
    }
  };
  agentGauge(
    "cluster_node_cpu_temperature_celsius",
    "CPU temperature from the node agent's last report, degrees Celsius.",
    (h) => h.cpuTempCelsius,
  );
  agentGauge("cluster_node_load1", "One-minute load average from the node agent.", (h) => h.load1);
  agentGauge(
    "cluster_node_memory_available_bytes",
    "Available memory from the node agent's last report, bytes.",
    (h) => h.memAvailableBytes,
  );

  out.family(
    "cluster_node_throttled",
    "gauge",
    "The firmware's throttling flags from the node agent (get_throttled), one sample per flag: 1 set, 0 clear.",
  );
  for (const n of nodes) {
    const raw = n.agent?.health.throttled;
    if (raw === undefined || raw === null) continue;
    for (const [flag, set] of Object.entries(decodeThrottled(raw))) {
      out.sample("cluster_node_throttled", { node: n.id, bus: n.bus, flag }, set ? 1 : 0);
    }
  }
  out.family(
    "cluster_bus_undervoltage_nodes",
    "gauge",
    "Bays of each BitBar whose agent reports under-voltage now or since boot (2 or more: check the BitBar's supply).",
  );
  for (const b of powerHealthReport(nodes).buses) {
    const ever = new Set([...b.underVoltageNow, ...b.underVoltageSinceBoot]);
    out.sample("cluster_bus_undervoltage_nodes", { bus: b.bus }, ever.size);
  }

  out.family(
    "cluster_jobs_total",
    "counter",
    "Jobs finished since the hub started, by kind and final state.",
  );
  for (const [key, n] of [...src.jobs.finished].sort()) {
    const [kind, state] = key.split(":");
    out.sample("cluster_jobs_total", { kind, state }, n);
  }
  if (src.startedAt !== undefined) {
    out.family(
      "cluster_hub_start_time_seconds",
      "gauge",
      "When the hub process started, seconds since the Unix epoch (a change means it restarted).",
    );
    out.sample("cluster_hub_start_time_seconds", {}, Math.floor(src.startedAt / 1000));
  }
  out.family("cluster_events_total", "counter", "Events emitted since the hub started, by type.");
  for (const [type, n] of [...src.events.counts].sort()) {
    out.sample("cluster_events_total", { type }, n);
  }
  out.single(
    "cluster_events_unstored_total",
    "counter",
    "Events that could not be stored (data directory full) and were dropped, since start.",
    src.events.unstored,
  );
  if (src.storeHealth) {
    out.single(
      "cluster_store_degraded",
      "gauge",
      "1 while the store cannot write (its data directory is full; changes get 507), else 0.",
      src.storeHealth().state === "degraded" ? 1 : 0,
    );
  }
  const faults = src.faults ?? processFaults;
  out.byLabel(
    "cluster_background_failures_total",
    "counter",
    "Background tasks (timers, job records, stream writers) that failed, logged and carried on, by task.",
    "task",
    [...faults.background].sort(),
  );
  out.byLabel(
    "cluster_unexpected_faults_total",
    "counter",
    "Promise rejections and exceptions nobody handled; logged, and the hub went on (docs/faults.md).",
    "kind",
    Object.entries(faults.unexpected),
  );
  const gate = src.gate?.();
  if (gate) renderGate(out, gate);
  if (src.agentAuth) {
    out.family(
      "cluster_agent_heartbeats_refused_total",
      "counter",
      "Agent heartbeats refused since the hub started, by reason (bad_key, shared_key_off, " +
        "wrong_node, wrong_mac, wrong_address, bay_off).",
    );
    for (const [reason, n] of [...src.agentAuth.refusals()].sort()) {
      out.sample("cluster_agent_heartbeats_refused_total", { reason }, n);
    }
    out.family(
      "cluster_agent_shared_key_heartbeats_total",
      "counter",
      "Agent heartbeats accepted with the old shared key (which speaks for any node).",
    );
    out.sample("cluster_agent_shared_key_heartbeats_total", {}, src.agentAuth.sharedKeyHeartbeats);
  }
  http.render(out);
  return out.toString();
}

/** The TCP gate's figures: connections, refusals, WebSocket message assembly. */
function renderGate(out: Exposition, g: GateFigures): void {
  out.single(
    "cluster_connections_open",
    "gauge",
    "TCP connections open on the hub's port.",
    g.open,
  );
  out.single(
    "cluster_connections_max",
    "gauge",
    "The cap on open connections (all addresses).",
    g.max,
  );
  out.byLabel(
    "cluster_connections_closed_total",
    "counter",
    "Connections refused or closed by the gate since start, by reason.",
    "reason",
    [
      ["refused", g.counts.refused],
      ["request_timeout", g.counts.requestTimeout],
      ["idle_timeout", g.counts.idleTimeout],
      ["accept_error", g.counts.acceptErrors],
      ["ws_message_too_big", g.counts.wsTooBig],
      ["ws_message_deadline", g.counts.wsDeadline],
      ["ws_protocol", g.counts.wsProtocol],
      ["shed_idle", g.counts.shedIdle],
    ],
  );
  out.byLabel(
    "cluster_connections_reserved_total",
    "counter",
    "Connections let in on a reserved slot while the public ones were full, by who.",
    "who",
    [["admin", g.counts.reservedAdmin], ["agent", g.counts.reservedAgent]],
  );
  out.single("cluster_ws_open", "gauge", "WebSockets open through the gate.", g.webSockets);
  out.single(
    "cluster_ws_assembling",
    "gauge",
    "WebSockets in the middle of receiving a (fragmented) message.",
    g.wsAssembling,
  );
  out.single(
    "cluster_ws_assembly_bytes",
    "gauge",
    "Bytes of unfinished WebSocket messages the hub holds, all sockets together.",
    g.wsAssemblyBytes,
  );
  out.single(
    "cluster_ws_assembly_max_bytes",
    "gauge",
    "The most one WebSocket holds of an unfinished message now, bytes (bounded by the message limit).",
    g.wsAssemblyMaxBytes,
  );
}

/** `GET /metrics` in the OpenAPI document. */
export const METRICS_DOC: MountedRouteDoc = {
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics: nodes, power, jobs, events and HTTP requests",
  contentType: METRICS_CONTENT_TYPE.split(";")[0],
  description: "Prometheus text exposition format 0.0.4 (`" + METRICS_CONTENT_TYPE + "`)",
  read: true,
};

/** The `/metrics` sub-app. */
export function metricsApp(src: MetricsSources, http: HttpMetrics): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => {
    c.header("content-type", METRICS_CONTENT_TYPE);
    return c.body(renderMetrics(src, http));
  });
  return app;
}
