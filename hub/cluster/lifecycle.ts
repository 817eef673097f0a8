/** Node lifecycle as a pure function of what the hub knows about a node. */
import type { Lifecycle, PowerState } from "../../shared/schemas.ts";

/** The facts a node's lifecycle is derived from. */
export interface LifecycleFacts {
  /** Rail state as last read back from the control plane. */
  actual: PowerState;
  /** A power operation on this node is under way. */
  operating: boolean;
  /** A hardware fault is latched on this node (cleared by the next good power operation). */
  fault: boolean;
  /** When the rail was last seen going on (hub time, ms), or null. */
  poweredOnAt: number | null;
  /** When the last agent heartbeat arrived (hub time, ms), or null. */
  lastHeartbeatAt: number | null;
  now: number;
  /** Silence after which a running node is `lost`. */
  lostAfterMs: number;
}

/**
 * off → powering → booting → running → lost, plus fault:
 * - `fault` wins; then `powering` while an operation runs; `off` when the rail is off;
 * - with the rail on: `booting` until the first heartbeat since power-on, then `running`,
 *   and `lost` once heartbeats have been silent for longer than `lostAfterMs`.
 */
export function deriveLifecycle(f: LifecycleFacts): Lifecycle {
  if (f.fault) return "fault";
  if (f.operating) return "powering";
  if (f.actual === "off") return "off";
  const beatSincePowerOn = f.lastHeartbeatAt !== null &&
    (f.poweredOnAt === null || f.lastHeartbeatAt >= f.poweredOnAt);
  if (!beatSincePowerOn) return "booting";
  return f.now - (f.lastHeartbeatAt as number) >= f.lostAfterMs ? "lost" : "running";
}
