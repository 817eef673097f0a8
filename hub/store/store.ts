/**
 * The `Store` seam: everything the hub must not lose on restart — desired power per node,
 * requested LED modes, learned MACs, when each node was last heard, the event log, jobs and
 * small settings.
 */
import type {
  ClusterEvent,
  EventType,
  Job,
  PowerState,
  RequestedLedMode,
} from "../../shared/schemas.ts";

/** What the hub remembers about one node. */
export interface NodeRecord {
  id: number;
  desiredPower: PowerState;
  mac: string | null;
  ledRequested: RequestedLedMode | null;
  /** Excluded bays (spares) are skipped by bulk operations and bootstrap. */
  enabled: boolean;
}

/** A new event before the store has numbered it. */
export interface NewEvent {
  at: number;
  type: EventType;
  node: number | null;
  message: string;
  data: Record<string, unknown>;
}

/** Whether the store takes writes: `degraded` since its disk filled up. */
export interface StoreHealth {
  state: "ok" | "degraded";
  /** The data directory the store lives in. */
  dataDir: string;
  /** Since when writes fail (hub clock, ms), when degraded. */
  since?: number;
  /** What the person at the terminal should know, when degraded. */
  message?: string;
}

/**
 * Base of the store's errors. They say what happened to the hub's data, for the person at the
 * terminal or behind `curl`; hub/http/errors.ts maps them to the codes clients see.
 */
export class StoreError extends Error {
  /** Structured facts behind the message (e.g. the data directory). */
  readonly details?: unknown;

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = "StoreError";
    this.details = details;
  }
}

/**
 * A write the store could not make because its disk is full (SQLITE_FULL, ENOSPC). The hub
 * stays up: reads go on, and mutating calls are refused until space returns.
 */
export class StoreFullError extends StoreError {
  constructor(dataDir: string) {
    super(
      `the hub's data directory ${dataDir} is full: nothing can be recorded, so changes are refused; free space there (reads still work, and the hub recovers by itself)`,
      { dataDir },
    );
    this.name = "StoreFullError";
  }
}

/** A database file another process holds exclusively (another hub runs on it). */
export class StoreLockedError extends StoreError {
  constructor(message: string, path: string) {
    super(message, { path });
    this.name = "StoreLockedError";
  }
}

/** True for a StoreFullError. */
export function isStoreFull(e: unknown): e is StoreFullError {
  return e instanceof StoreFullError;
}

/** Persistent hub state. */
export interface Store {
  /** The records of `ids` (the node map's), in that order; nodes never written read as defaults. */
  nodes(ids: readonly number[]): NodeRecord[];
  /** One node record. */
  node(id: number): NodeRecord;
  /** Updates fields of one node record. */
  updateNode(id: number, patch: Partial<Omit<NodeRecord, "id">>): void;
  /** Appends an event and returns it with its id. */
  appendEvent(event: NewEvent): ClusterEvent;
  /** Events with id > `afterId`, oldest first, at most `limit`. */
  eventsAfter(afterId: number, limit: number): ClusterEvent[];
  /** The newest `limit` events, oldest first. */
  latestEvents(limit: number): ClusterEvent[];
  /** Inserts or replaces a job. */
  saveJob(job: Job): void;
  /** A job by id. */
  job(id: string): Job | undefined;
  /** The newest jobs, newest first. */
  jobs(limit: number): Job[];
  /** Jobs stored as running or queued, whatever their age. */
  unfinishedJobs(): Job[];
  /** When each bay's agent was last heard (hub time, ms), for the bays ever heard. */
  lastSeen(): Map<number, number>;
  /** Records last-heard times (node → ms), all in one transaction. */
  saveLastSeen(seen: ReadonlyMap<number, number>): void;
  /** Reads a small JSON setting. */
  getSetting<T>(key: string): T | undefined;
  /** Writes a small JSON setting. */
  setSetting(key: string, value: unknown): void;
  /**
   * Whether writes work. While degraded, at most once a second this tries a tiny write, so
   * the store recovers as soon as space returns.
   */
  health(): StoreHealth;
  close(): void;
}
