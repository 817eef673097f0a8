/**
 * One hub per module: a real power driver is opened only while this process holds the
 * control-plane lock, so a second hub (even with its own data directory and port) cannot
 * drive the same rails.
 */
import type { DatabaseSync } from "node:sqlite";
import { openExclusiveDb } from "../store/exclusive_db.ts";
import { StoreLockedError } from "../store/store.ts";
import { ControlPlaneLockError } from "./errors.ts";

/** Where the lock lives unless told otherwise (tmpfs, cleared at boot). */
export const DEFAULT_HARDWARE_LOCK = "/run/lock/cluster-hub-control-plane.lock";

/** A held lock; release it when the driver is closed. */
export interface HardwareLock {
  release(): void;
}

/**
 * Takes the control-plane lock, or throws a `ControlPlaneLockError` naming the lock file
 * (`held` when another hub holds it).
 */
export function acquireHardwareLock(path = DEFAULT_HARDWARE_LOCK): HardwareLock {
  let db: DatabaseSync;
  try {
    db = openExclusiveDb(
      path,
      `another hub is driving this module's control plane (lock ${path}); stop it first`,
    );
  } catch (e) {
    if (e instanceof StoreLockedError) throw new ControlPlaneLockError(true, e.message);
    throw new ControlPlaneLockError(
      false,
      `cannot take the control-plane lock ${path} (${
        e instanceof Error ? e.message : e
      }); run the hub as root`,
    );
  }
  return { release: () => db.close() };
}
