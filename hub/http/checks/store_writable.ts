/**
 * A full disk refuses changes, not the hub: while the store is degraded (its data directory
 * is full) every mutating call gets `507 insufficient_storage` naming the directory, before
 * it acts. Reads go on, and so do agents' heartbeats (a node must not go `lost` because the
 * hub's disk is full; what they would record is dropped and counted). The store probes for
 * space itself, so the first call after space returns goes through.
 */
import type { StoreHealth } from "../../store/store.ts";
import { StoreFullError } from "../../store/store.ts";
import type { RouteSpec } from "../route.ts";

/** Whether a route is refused while the store cannot write. */
export function refusedWhenStoreFull(spec: Pick<RouteSpec, "method" | "auth">): boolean {
  return spec.method !== "get" && spec.auth !== "agent";
}

/** Throws `insufficient_storage` when the store is degraded. */
export function requireWritableStore(health: () => StoreHealth): void {
  const h = health();
  if (h.state === "degraded") throw new StoreFullError(h.dataDir);
}
