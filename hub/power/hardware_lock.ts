/**
 * One hub per module: a real power driver is opened only while this process holds the
 * control-plane lock, so a second hub (even with its own data directory and port) cannot
 * drive the same rails.
 */
import type { DatabaseSync } from "node:sqlite";
import { openExclusiveDb } from "../store/exclusive_db.ts";
import { ClusterError } from "../../shared/errors.ts";

/** Where the lock lives unless told otherwise (tmpfs, cleared at boot). */
export const DEFAULT_HARDWARE_LOCK = "/run/lock/cluster-hub-control-plane.lock";

/** A held lock; release it when the driver is closed. */
export interface HardwareLock {
  release(): void;
}

/** Takes the control-plane lock or throws a `conflict` naming the lock file. */
export function acquireHardwareLock(path = DEFAULT_HARDWARE_LOCK): HardwareLock {
  let db: DatabaseSync;
  try {
    db = openExclusiveDb(
      path,
      `another hub is driving this module's control plane (lock ${path}); stop it first`,
    );
  } catch (e) {
    if (e instanceof ClusterError) throw e;
    throw new ClusterError(
      "bad_request",
      `cannot take the control-plane lock ${path} (${
        e instanceof Error ? e.message : e
      }); run the hub as root`,
    );
  }
  return { release: () => db.close() };
}
