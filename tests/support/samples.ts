/** Valid sample messages for tests: one place, so every test speaks the same wire format. */
import type { AgentReport, Heartbeat, NodeHealth, NodeIdentity } from "../../shared/schemas.ts";
import { nodeHostname } from "../../shared/node_map.ts";

/** A Pi 3B+ identity for bay `node` (no node id when `node` is undefined). */
export function sampleIdentity(node?: number, over: Partial<NodeIdentity> = {}): NodeIdentity {
  return {
    ...(node === undefined ? {} : { node }),
    hostname: nodeHostname(node ?? 0),
    model: "pi3b+",
    boardName: "Raspberry Pi 3 Model B Plus Rev 1.3",
    serial: "00000000abcdef01",
    mac: `b8:27:eb:00:00:${String(node ?? 0).padStart(2, "0")}`,
    agentVersion: "0.1.0",
    ...over,
  };
}

/** Plausible health figures. */
export function sampleHealth(over: Partial<NodeHealth> = {}): NodeHealth {
  return {
    uptimeSeconds: 12,
    load1: 0.1,
    memTotalBytes: 1_000_000_000,
    memAvailableBytes: 700_000_000,
    cpuTempCelsius: 48.3,
    ...over,
  };
}

/** A valid heartbeat body from bay `node`. */
export function sampleHeartbeat(
  node?: number,
  over: Partial<Omit<Heartbeat, "identity">> & { identity?: Partial<NodeIdentity> } = {},
): Heartbeat {
  const { identity, ...rest } = over;
  return {
    identity: sampleIdentity(node, identity),
    health: sampleHealth(),
    led: "heartbeat",
    seq: 1,
    sentAt: 1_700_000_000_000,
    ...rest,
  };
}

/** An agent report as the hub stores it: a sample heartbeat, received at `receivedAt`. */
export function sampleReport(
  node: number,
  receivedAt: number,
  over: Partial<Omit<AgentReport, "identity">> & { identity?: Partial<NodeIdentity> } = {},
): AgentReport {
  const { receivedAt: _, ...rest } = over;
  const { identity, health, led, seq } = sampleHeartbeat(node, rest);
  return { identity, health, led, seq, receivedAt };
}
