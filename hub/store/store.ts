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

/** Persistent hub state. */
export interface Store {
  /** Every node record, id order; nodes never written read as defaults. */
  nodes(count: number): NodeRecord[];
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
  close(): void;
}
