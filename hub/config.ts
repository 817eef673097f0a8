/**
 * Hub settings from flags and environment, validated with clear messages.
 * Flags win over environment variables, which win over defaults.
 */
import { parseArgs } from "node:util";
import { ClusterError } from "../shared/errors.ts";
import {
  type AssetTag,
  buildNodeMap,
  defaultAssetTag,
  isNodeCount,
  MODULE_SHAPES,
  NODE_COUNTS,
  type NodeCount,
  nodeCountsText,
  type NodeMap,
} from "../shared/node_map.ts";
import { parseModuleName } from "../shared/module_name.ts";
import { parseIntFlag } from "../shared/int_flag.ts";
import { parseNodeSet } from "../shared/range.ts";
import { DEFAULT_LIMITS, type HubLimits } from "./http/limits.ts";
import { type BootTimeouts, WATCHED_STAGES, type WatchedStage } from "./boot/timeline.ts";

/** The hub's default TCP port. */
export const DEFAULT_PORT = 4242;

/** Everything the hub is started with. */
export interface HubSettings {
  host: string;
  port: number;
  /** Where the SQLite store, token and agent key live. */
  dataDir: string;
  /** The module's shape (shared/node_map.ts MODULE_SHAPES). */
  nodeCount: NodeCount;
  /** The module's asset tag (default: CM60A, or CM48A on 48 bays, / QA6QDEDP / NMEBW9HT). */
  assetTag?: AssetTag;
  /** The module's name in a fleet of hubs (default: the asset tag's TAG); see moduleNameOf. */
  module?: string;
  /** Bays holding Pi Zero W (default: the shape's; 17-22,24-29 on 60 bays, none on 48). */
  zeroBays?: string;
  /** Admin token; generated into dataDir when absent. */
  token?: string;
  /** The old shared agent key; generated into dataDir when absent. */
  agentKey?: string;
  /** The secret per-node agent keys are derived from; generated into dataDir when absent. */
  agentSecret?: string;
  /** Whether agents may still use the shared key (false: `--no-shared-agent-key`). */
  sharedAgentKey?: boolean;
  /**
   * `required`: reads (nodes, MACs, serials, jobs, events, /metrics, …) need the read token
   * (DATA/read-token) or the admin token; `open` (default): reads need none.
   */
  readToken?: ReadTokenMode;
  /** Heartbeat silence after which a node is lost, ms. */
  lostAfterMs: number;
  /** Heartbeat interval asked of agents, ms. */
  heartbeatIntervalMs: number;
  /** JSON file with the power driver config; absent = simulated module. */
  powerConfigPath?: string;
  /** JSON file with netboot settings (interfaces, WiFi, overlays, paths); absent = defaults. */
  netbootConfigPath?: string;
  /** On the simulated module: run a virtual node agent for every powered bay. */
  virtualAgents: boolean;
  /** Virtual nodes' boot time (power-on to agent start), ms. */
  simBootMs: number;
  /** Multiplies bootstrap and self-test timings (1 = the vendor's timeline; 0.05 for demos). */
  timeScale?: number;
  /** Boot-stage deadlines given by flag, ms after power-on (unscaled; others: the vendor's). */
  bootTimeouts?: Partial<BootTimeouts>;
  /** Recovery power cycles before a stalled node is quarantined (default 2). */
  bootRetries?: number;
  /** Simulated module: injected boot faults, e.g. "7=no_lease,9=no_heartbeat,12=no_lease:1". */
  simFaults?: SimFault[];
  /** Connection caps and timeouts (default DEFAULT_LIMITS). */
  limits?: HubLimits;
  /** Serve HTTPS: the given certificate, else a self-signed one made on first start. */
  tls?: TlsSettings;
  /** A second, plain-HTTP listener for the node agents (agent routes only). */
  agentListen?: { host: string; port: number };
}

/** HTTPS settings. */
export interface TlsSettings {
  certPath?: string;
  keyPath?: string;
  /** Extra names and addresses for the self-signed certificate. */
  names: string[];
}

/** Whether reads need a token (`--read-token`). */
export type ReadTokenMode = "required" | "open";

/** True for an address only this machine can reach (loopback). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === "::ffff:127.0.0.1";
}

/**
 * The start-up warning for reads without a token on an address others can reach, or null
 * (reads need a token, or the hub listens on loopback only).
 */
export function openReadsWarning(settings: Pick<HubSettings, "host" | "readToken">): string | null {
  if (settings.readToken === "required" || isLoopbackHost(settings.host)) return null;
  return `hub: warning: reads need no token (--read-token open) on ${settings.host}: anyone who ` +
    "can reach this port can read the node map, learned MACs, agent serials, jobs, events and " +
    "/metrics; on a shared LAN start the hub with --read-token required (docs/security.md)";
}

/** One injected boot fault of a virtual bay. */
export interface SimFault {
  node: number;
  kind: "no_lease" | "no_heartbeat";
  /** Only the first so many boots (a transient fault); absent: every boot. */
  boots?: number;
}

/** The module shapes for `--help`: "60: the vendor's CM60; 48: …". */
function moduleShapesHelp(): string {
  return [...NODE_COUNTS].reverse().map((n) => `${n}: ${MODULE_SHAPES[n].note}`).join("; ");
}

/** Help text for `deno task hub --help`. */
export const HUB_USAGE = `usage: deno task hub [options]

  --host ADDR          listen address (default 127.0.0.1; CM_HOST; use 0.0.0.0 on a real hub)
  --port N             TCP port (default ${DEFAULT_PORT}; CM_PORT; 0 = any free port)
  --data-dir DIR       state directory (default .data; CM_DATA_DIR)
  --nodes ${NODE_COUNTS.join("|").padEnd(12)} module size (default 60; CM_NODES):
                       ${moduleShapesHelp()}
  --asset-tag S/M/T    asset tag SKU/MODEL/TAG from the module's sticker (CM_ASSET_TAG)
  --module NAME        the module's name in a fleet: metrics label, inventory group, MODULE:N
                       (default: the asset tag's TAG; CM_MODULE)
  --tls                serve HTTPS with a self-signed certificate made on first start (CM_TLS=1);
                       its fingerprint is printed at every start
  --tls-cert FILE      serve HTTPS with this certificate (PEM; CM_TLS_CERT), with --tls-key
  --tls-key FILE       its private key (PEM; CM_TLS_KEY)
  --tls-name LIST      more names/addresses for the self-signed certificate (CM_TLS_NAMES)
  --agent-port N       with TLS: also a plain-HTTP port for the node agents on the cluster LAN,
                       serving the agent routes only (CM_AGENT_PORT; --agent-host ADDR, default
                       the --host address)
  --zero-bays SET      bays holding Pi Zero W, "" for none (default: the size's; 17-22,24-29
                       on 60 bays)
  --token TOKEN        admin token (CM_TOKEN; default: generated into DATA/token)
  --agent-key KEY      the old shared agent key, for agents not yet given their own
                       (CM_AGENT_KEY; default: generated into DATA/agent-key)
  --no-shared-agent-key  refuse the shared agent key: every agent uses its node's own key
                       (derived from DATA/agent-secret; docs/security.md)
  --read-token required|open  reads (nodes, MACs, serials, jobs, events, /metrics) need the
                       read token (DATA/read-token) or the admin token, or none (default open;
                       the hub warns when open on a non-loopback address; CM_READ_TOKEN)
  --lost-after-ms N    heartbeat silence before a node is lost (default 3000)
  --heartbeat-ms N     heartbeat interval asked of agents (default 1000)
  --power-config FILE  power driver config (JSON); default: the simulated module
  --netboot-config FILE  netboot settings (JSON: interfaces, WiFi, overlays, …; CM_NETBOOT_CONFIG)
  --time-scale X       scale bootstrap/self-test timings (default 1 = vendor timeline)
  --sim-boot-ms N      simulated module: power-on to agent start of a virtual node
                       (default 5000, or 30000 × the time scale when that is shorter)
  --no-agents          simulated module: do not run virtual node agents
  --max-connections N  TCP connections in all (default ${DEFAULT_LIMITS.tcp.max}, fewer if the fd limit is low)
  --max-connections-per-address N  from one address (default ${DEFAULT_LIMITS.tcp.perAddress})
  --max-sockets N      WebSockets in all (default ${DEFAULT_LIMITS.ws.max}; +${DEFAULT_LIMITS.ws.reserved} for the admin token)
  --max-sockets-per-address N      (default ${DEFAULT_LIMITS.ws.perAddress})
  --max-streams N      event streams (SSE) in all (default ${DEFAULT_LIMITS.sse.max})
  --max-streams-per-address N      (default ${DEFAULT_LIMITS.sse.perAddress})
  --request-timeout-ms N  a request must arrive within this (default ${DEFAULT_LIMITS.requestTimeoutMs})
  --idle-timeout-ms N  close a connection silent this long (default ${DEFAULT_LIMITS.idleTimeoutMs})
  --ws-message-timeout-ms N  a WebSocket message begun must end within this (default ${DEFAULT_LIMITS.wsMessageTimeoutMs})
  --boot-timeouts LIST boot-stage deadlines in seconds after power-on, e.g.
                       dhcp_discover=30,dhcp_ack=40,tftp=60,heartbeat=120,running=150 (defaults)
  --boot-retries N     power cycles of a stalled boot before quarantine (default 2)
  --sim-faults LIST    simulated module: inject boot faults, NODE=no_lease|no_heartbeat[:BOOTS],
                       e.g. 7=no_lease,9=no_heartbeat,12=no_lease:1 (12 fails its first boot)
  -h, --help           this help`;

function intSetting(name: string, text: string, min: number, max: number): number {
  return parseIntFlag(name, text, min, max, { trim: true });
}

function assetTag(text: string | undefined): AssetTag | undefined {
  if (text === undefined) return undefined;
  const parts = text.split("/").map((p) => p.trim());
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9-]{1,32}$/.test(p))) {
    throw new ClusterError(
      "bad_request",
      `--asset-tag must be SKU/MODEL/TAG as on the module's sticker (e.g. CM48A/QA6QDEDP/NMEBW9HT), not "${text}"`,
    );
  }
  return { sku: parts[0], model: parts[1], tag: parts[2] };
}

function zeroBays(text: string | undefined, nodes: number): string | undefined {
  if (text === undefined || text.trim() === "") return text;
  try {
    parseNodeSet(text, nodes); // a bad set is an error now, not at first use
  } catch (e) {
    if (!(e instanceof ClusterError)) throw e;
    throw new ClusterError(e.code, `--zero-bays: ${e.message}`);
  }
  return text;
}

/**
 * Virtual nodes boot in 5 s, or faster on a compressed timeline: a real Pi takes ~30 s, so
 * 30 s × the time scale when that is shorter (the bootstrap's heartbeat wait scales too).
 */
export function defaultSimBootMs(scale: number): number {
  return Math.round(Math.min(5000, 30_000 * scale));
}

function readTokenMode(text: string | undefined): ReadTokenMode {
  const t = (text ?? "open").trim();
  if (t === "required" || t === "open") return t;
  throw new ClusterError("bad_request", `--read-token must be required or open, not "${text}"`);
}

function timeScale(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 10) {
    throw new ClusterError(
      "bad_request",
      `--time-scale must be a number above 0 and at most 10, not "${text}"`,
    );
  }
  return n;
}

function bootTimeouts(text: string | undefined): Partial<BootTimeouts> | undefined {
  if (text === undefined) return undefined;
  const out: Partial<BootTimeouts> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p)) {
    const [stage, secs] = part.split("=");
    if (!WATCHED_STAGES.includes(stage as WatchedStage)) {
      throw new ClusterError(
        "bad_request",
        `--boot-timeouts: unknown stage "${stage}"; stages are ${WATCHED_STAGES.join(", ")}`,
      );
    }
    const n = Number(secs);
    if (!Number.isFinite(n) || n <= 0 || n > 3600) {
      throw new ClusterError(
        "bad_request",
        `--boot-timeouts: ${stage} must be seconds above 0 and at most 3600, not "${secs}"`,
      );
    }
    out[stage as WatchedStage] = Math.round(n * 1000);
  }
  return out;
}

function simFaults(text: string | undefined, nodes: number): SimFault[] | undefined {
  if (text === undefined) return undefined;
  return text.split(",").map((p) => p.trim()).filter((p) => p).map((part) => {
    const m = /^(\d+)=(no_lease|no_heartbeat)(?::(\d+))?$/.exec(part);
    if (!m) {
      throw new ClusterError(
        "bad_request",
        `--sim-faults: "${part}" is not NODE=no_lease|no_heartbeat[:BOOTS]`,
      );
    }
    const node = parseNodeSet(m[1], nodes)[0];
    return {
      node,
      kind: m[2] as SimFault["kind"],
      ...(m[3] ? { boots: intSetting("--sim-faults boots", m[3], 1, 1000) } : {}),
    };
  });
}

/** Parses flags and environment into settings; `null` means help was asked for. */
export function parseHubSettings(
  argv: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): HubSettings | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "data-dir": { type: "string" },
      nodes: { type: "string" },
      "asset-tag": { type: "string" },
      module: { type: "string" },
      tls: { type: "boolean" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-name": { type: "string" },
      "agent-port": { type: "string" },
      "agent-host": { type: "string" },
      "zero-bays": { type: "string" },
      token: { type: "string" },
      "agent-key": { type: "string" },
      "no-shared-agent-key": { type: "boolean" },
      "read-token": { type: "string" },
      "lost-after-ms": { type: "string" },
      "heartbeat-ms": { type: "string" },
      "power-config": { type: "string" },
      "netboot-config": { type: "string" },
      "time-scale": { type: "string" },
      "sim-boot-ms": { type: "string" },
      "no-agents": { type: "boolean" },
      "max-connections": { type: "string" },
      "max-connections-per-address": { type: "string" },
      "max-sockets": { type: "string" },
      "max-sockets-per-address": { type: "string" },
      "max-streams": { type: "string" },
      "max-streams-per-address": { type: "string" },
      "request-timeout-ms": { type: "string" },
      "idle-timeout-ms": { type: "string" },
      "ws-message-timeout-ms": { type: "string" },
      "boot-timeouts": { type: "string" },
      "boot-retries": { type: "string" },
      "sim-faults": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  const scale = timeScale(values["time-scale"] ?? env("CM_TIME_SCALE") ?? "1");
  const nodes = intSetting(
    "--nodes",
    values.nodes ?? env("CM_NODES") ?? "60",
    NODE_COUNTS[0],
    NODE_COUNTS[NODE_COUNTS.length - 1],
  );
  if (!isNodeCount(nodes)) {
    throw new ClusterError("bad_request", `--nodes must be ${nodeCountsText()}`);
  }
  const host = values.host ?? env("CM_HOST") ?? "127.0.0.1";
  const tls = tlsSettings(
    values.tls === true || env("CM_TLS") === "1",
    values["tls-cert"] ?? env("CM_TLS_CERT"),
    values["tls-key"] ?? env("CM_TLS_KEY"),
    values["tls-name"] ?? env("CM_TLS_NAMES"),
  );
  const agentPort = values["agent-port"] ?? env("CM_AGENT_PORT");
  if (agentPort !== undefined && !tls) {
    throw new ClusterError(
      "bad_request",
      "--agent-port is the plain port beside an HTTPS one: give --tls or --tls-cert too",
    );
  }
  return {
    ...(tls ? { tls } : {}),
    ...(agentPort !== undefined
      ? {
        agentListen: {
          host: values["agent-host"] ?? env("CM_AGENT_HOST") ?? host,
          port: intSetting("--agent-port", agentPort, 0, 65535),
        },
      }
      : {}),
    host,
    port: intSetting("--port", values.port ?? env("CM_PORT") ?? String(DEFAULT_PORT), 0, 65535),
    dataDir: values["data-dir"] ?? env("CM_DATA_DIR") ?? ".data",
    nodeCount: nodes,
    assetTag: assetTag(values["asset-tag"] ?? env("CM_ASSET_TAG")),
    ...moduleSetting(values.module ?? env("CM_MODULE")),
    zeroBays: zeroBays(values["zero-bays"] ?? env("CM_ZERO_BAYS"), nodes),
    token: values.token ?? env("CM_TOKEN"),
    agentKey: values["agent-key"] ?? env("CM_AGENT_KEY"),
    sharedAgentKey: !values["no-shared-agent-key"],
    readToken: readTokenMode(values["read-token"] ?? env("CM_READ_TOKEN")),
    lostAfterMs: intSetting("--lost-after-ms", values["lost-after-ms"] ?? "3000", 100, 3_600_000),
    heartbeatIntervalMs: intSetting(
      "--heartbeat-ms",
      values["heartbeat-ms"] ?? "1000",
      50,
      600_000,
    ),
    powerConfigPath: values["power-config"] ?? env("CM_POWER_CONFIG"),
    netbootConfigPath: values["netboot-config"] ?? env("CM_NETBOOT_CONFIG"),
    virtualAgents: !values["no-agents"],
    simBootMs: values["sim-boot-ms"] === undefined
      ? defaultSimBootMs(scale)
      : intSetting("--sim-boot-ms", values["sim-boot-ms"], 0, 600_000),
    timeScale: scale,
    bootTimeouts: bootTimeouts(values["boot-timeouts"]),
    bootRetries: values["boot-retries"] === undefined
      ? undefined
      : intSetting("--boot-retries", values["boot-retries"], 0, 10),
    simFaults: simFaults(values["sim-faults"], nodes),
    limits: parseLimits(values),
  };
}

function parseLimits(values: Record<string, string | boolean | undefined>): HubLimits {
  const d = DEFAULT_LIMITS;
  const n = (flag: string, dflt: number, min: number, max: number) => {
    const v = values[flag];
    return typeof v === "string" ? intSetting(`--${flag}`, v, min, max) : dflt;
  };
  return {
    tcp: {
      max: n("max-connections", d.tcp.max, 1, 100_000),
      perAddress: n("max-connections-per-address", d.tcp.perAddress, 1, 100_000),
      reserved: d.tcp.reserved,
    },
    ws: {
      max: n("max-sockets", d.ws.max, 1, 100_000),
      perAddress: n("max-sockets-per-address", d.ws.perAddress, 1, 100_000),
      reserved: d.ws.reserved,
    },
    sse: {
      max: n("max-streams", d.sse.max, 1, 100_000),
      perAddress: n("max-streams-per-address", d.sse.perAddress, 1, 100_000),
    },
    requestTimeoutMs: n("request-timeout-ms", d.requestTimeoutMs, 100, 600_000),
    idleTimeoutMs: n("idle-timeout-ms", d.idleTimeoutMs, 100, 3_600_000),
    wsMessageTimeoutMs: n("ws-message-timeout-ms", d.wsMessageTimeoutMs, 100, 600_000),
  };
}

function tlsSettings(
  selfSigned: boolean,
  certPath: string | undefined,
  keyPath: string | undefined,
  names: string | undefined,
): TlsSettings | undefined {
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ClusterError("bad_request", "--tls-cert and --tls-key go together");
  }
  if (!selfSigned && certPath === undefined) {
    if (names !== undefined) throw new ClusterError("bad_request", "--tls-name needs --tls");
    return undefined;
  }
  const list = (names ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
  for (const n of list) {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(n)) {
      throw new ClusterError("bad_request", `--tls-name: "${n}" is not a host name or address`);
    }
  }
  return { ...(certPath ? { certPath, keyPath } : {}), names: list };
}

function moduleSetting(text: string | undefined): { module?: string } {
  return text === undefined ? {} : { module: parseModuleName(text, "--module") };
}

/** The module's name: `--module`, else the TAG of its asset tag. */
export function moduleNameOf(settings: HubSettings): string {
  return settings.module ?? (settings.assetTag ?? defaultAssetTag(settings.nodeCount)).tag;
}

/** The node map for these settings. */
export function nodeMapFor(settings: HubSettings): NodeMap {
  return buildNodeMap({
    nodeCount: settings.nodeCount,
    ...(settings.assetTag ? { assetTag: settings.assetTag } : {}),
    ...(settings.zeroBays !== undefined ? { zeroBays: settings.zeroBays } : {}),
  });
}
