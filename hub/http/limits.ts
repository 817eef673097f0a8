/**
 * The edge's settings: caps on connections and their timeouts, with the defaults a hub starts
 * with. The settings parser (`hub/config.ts`) fills them from flags; the gate and the live view
 * read them. Data only, so that whoever configures the edge imports downwards.
 */
import type { CapLimits } from "./connection_caps.ts";

/** Caps on connections and their timeouts (docs/live.md, "Limits"). */
export interface HubLimits {
  /** TCP connections to the hub's port (the cap in all also follows the fd limit). */
  tcp: CapLimits;
  /** WebSockets (`/api/v1/ws`); token holders get `reserved` more. */
  ws: CapLimits;
  /** Event streams (`/api/v1/events` as SSE). */
  sse: CapLimits;
  /** A request's head and body must arrive within this, ms. */
  requestTimeoutMs: number;
  /** A connection with no byte either way for this long is closed, ms. */
  idleTimeoutMs: number;
  /** A WebSocket message begun must be finished within this, ms (else close 1008). */
  wsMessageTimeoutMs: number;
}

/**
 * Sized for a 1 GiB hub Pi serving a LAN: a dashboard tab holds one socket or stream and
 * one or two connections, a script a few; 60 agents one connection each. A flood from one
 * host is refused before it costs memory or event-delivery time.
 */
export const DEFAULT_LIMITS: HubLimits = {
  tcp: { max: 1000, perAddress: 256, reserved: 64 },
  ws: { max: 128, perAddress: 16, reserved: 16 },
  sse: { max: 128, perAddress: 16 },
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  wsMessageTimeoutMs: 10_000,
};
