/** A valid agent heartbeat for the benchmarks that send them without an agent. */
import { bayOf, buildNodeMap } from "../../shared/node_map.ts";
import { Heartbeat } from "../../shared/schemas.ts";

/**
 * The JSON of a valid heartbeat of `node` on the 60-bay module (the bay's expected model and
 * hostname, a fixed serial per node, synthetic health), checked against the schema.
 */
export function heartbeatJson(
  node: number,
  o: { seq: number; uptimeSeconds: number; mac?: string | null },
): string {
  const bay = bayOf(buildNodeMap(), node);
  if (!bay) throw new Error(`no bay ${node} on the 60-bay module`);
  const hb: Heartbeat = {
    identity: {
      node,
      hostname: bay.hostname,
      model: bay.expectedModel,
      boardName: "Raspberry Pi 3 Model B Plus Rev 1.3",
      serial: `00000000c0ffee${String(node).padStart(2, "0")}`,
      mac: o.mac ?? null,
      agentVersion: "bench",
    },
    health: {
      uptimeSeconds: o.uptimeSeconds,
      load1: 0.12,
      memTotalBytes: 1_000_000_000,
      memAvailableBytes: 790_000_000,
      cpuTempCelsius: 49.2,
    },
    led: "heartbeat",
    seq: o.seq,
    sentAt: Date.now(),
  };
  return JSON.stringify(Heartbeat.parse(hb)); // valid by construction, checked anyway
}
