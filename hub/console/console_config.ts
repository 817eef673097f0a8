/**
 * The `consoles` section of the hardware config file (the `--power-config` JSON): one entry
 * per bay that has a console, one zod schema (validator and type), and config → sources.
 *
 * ```json
 * {"driver": "i2c", …,
 *  "consoles": [
 *    {"node": 1, "type": "serial", "device": "/dev/serial/by-path/…-port0", "baud": 115200},
 *    {"node": 2, "type": "tcp", "host": "127.0.0.1", "port": 7002},
 *    {"node": 3, "type": "unix", "path": "/run/cluster-hub/node03.console"}]}
 * ```
 */
import { z } from "zod";
import { ClusterError } from "../../shared/errors.ts";
import { bayOf, type NodeMap } from "../../shared/node_map.ts";
import { NodeId, parseOrThrow } from "../../shared/schemas.ts";
import { readJsonConfig } from "../config_file.ts";
import type { ConsoleSource } from "./console_source.ts";
import { LineSettings } from "./line_settings.ts";
import { SerialConsoleSource } from "./serial_source.ts";
import { SocketConsoleSource } from "./socket_source.ts";

/** A serial device (USB-serial adapter, /dev/ttyAMA0), 115200 8N1 unless told otherwise. */
export const SerialConsoleConfig = z.strictObject({
  node: NodeId,
  type: z.literal("serial"),
  /** e.g. "/dev/ttyUSB3" or a stable "/dev/serial/by-path/…" name. */
  device: z.string().min(1).startsWith("/", "device must be an absolute path such as /dev/ttyUSB0"),
  ...LineSettings.shape,
});

/** A raw TCP port: a console server, ser2net in raw mode, QEMU `-serial tcp:…,server`. */
export const TcpConsoleConfig = z.strictObject({
  node: NodeId,
  type: z.literal("tcp"),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

/** A unix stream socket, e.g. QEMU `-serial unix:PATH,server`. */
export const UnixConsoleConfig = z.strictObject({
  node: NodeId,
  type: z.literal("unix"),
  path: z.string().min(1).startsWith("/", "path must be absolute"),
});

/** One bay's console. */
export const ConsoleConfig = z.discriminatedUnion("type", [
  SerialConsoleConfig,
  TcpConsoleConfig,
  UnixConsoleConfig,
]);
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;

/** The `consoles` list: each node at most once, each device or address at most once. */
export const ConsolesConfig = z.array(ConsoleConfig).superRefine((list, ctx) => {
  const nodes = new Set<number>();
  const where = new Set<string>();
  list.forEach((c, i) => {
    if (nodes.has(c.node)) {
      ctx.addIssue({
        code: "custom",
        path: [i, "node"],
        message: `node ${c.node} is listed twice`,
      });
    }
    nodes.add(c.node);
    const key = c.type === "serial" ? c.device : c.type === "tcp" ? `${c.host}:${c.port}` : c.path;
    if (where.has(key)) {
      ctx.addIssue({ code: "custom", path: [i], message: `${key} is used by two nodes` });
    }
    where.add(key);
  });
});
export type ConsolesConfig = z.infer<typeof ConsolesConfig>;

/** The source one entry names. */
export function consoleSource(c: ConsoleConfig): ConsoleSource {
  switch (c.type) {
    case "serial": {
      const { node: _n, type: _t, device, ...line } = c;
      return new SerialConsoleSource(device, line);
    }
    case "tcp":
      return new SocketConsoleSource({ host: c.host, port: c.port });
    case "unix":
      return new SocketConsoleSource({ path: c.path });
  }
}

/**
 * The `consoles` of a parsed hardware config, validated (a ClusterError naming each bad
 * field), as sources by node; `undefined` when the file has no `consoles` key. Nodes that are
 * no bay of `map` are refused.
 */
export function consoleSourcesFromConfig(
  config: unknown,
  map: NodeMap,
): Map<number, ConsoleSource> | undefined {
  if (typeof config !== "object" || config === null || !("consoles" in config)) return undefined;
  const list = parseOrThrow(ConsolesConfig, config.consoles, "consoles");
  const out = new Map<number, ConsoleSource>();
  for (const c of list) {
    if (!bayOf(map, c.node)) {
      throw new ClusterError(
        "invalid_body",
        `invalid consoles: node ${c.node} is not a bay of this ${map.bays.length}-node module`,
      );
    }
    out.set(c.node, consoleSource(c));
  }
  return out;
}

/** Reads the consoles of the hardware config file at `path` (errors name the file). */
export function loadConsoleSources(
  path: string,
  map: NodeMap,
): Map<number, ConsoleSource> | undefined {
  try {
    return consoleSourcesFromConfig(readJsonConfig(path, "hardware config"), map);
  } catch (e) {
    if (e instanceof ClusterError && !e.message.startsWith("cannot read")) {
      throw new ClusterError(e.code, `${path}: ${e.message}`, e.details);
    }
    throw e;
  }
}
