/**
 * The heartbeat's JSON text, with the part that never changes (the identity) serialized once:
 * each heartbeat only adds health, LED mode, seq and time (and `holdMs`, in heartbeat passes). What it writes is exactly
 * `JSON.stringify` of a `Heartbeat` (shared/wire_schemas.ts), checked in
 * tests/agent/heartbeat_json.test.ts against the schema the hub validates with.
 */
import type { LedEngineKind, LedMode, NodeHealth, NodeIdentity } from "../shared/wire_schemas.ts";

/** Builds heartbeat bodies for one identity. */
export type HeartbeatJson = (
  health: NodeHealth,
  led: LedMode,
  seq: number,
  sentAt: number,
  holdMs?: number,
) => string;

/**
 * A heartbeat serializer for `identity` (serialized here, once) and the LED engine in use
 * (`ledEngine`, left out when not given).
 */
export function heartbeatJson(identity: NodeIdentity, ledEngine?: LedEngineKind): HeartbeatJson {
  const head = `{"identity":${JSON.stringify(identity)},"health":`;
  const engine = ledEngine === undefined ? "" : `,"ledEngine":${JSON.stringify(ledEngine)}`;
  return (health, led, seq, sentAt, holdMs) =>
    `${head}${JSON.stringify(health)},"led":${
      JSON.stringify(led)
    }${engine},"seq":${seq},"sentAt":${sentAt}${holdMs ? `,"holdMs":${holdMs}` : ""}}`;
}
