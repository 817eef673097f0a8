/** The `Store` on `node:sqlite`: one file in the hub's data directory, WAL mode. */
import { DatabaseSync } from "node:sqlite";
import { openExclusiveDb } from "./exclusive_db.ts";
import type {
  ClusterEvent,
  EventType,
  Job,
  PowerState,
  RequestedLedMode,
} from "../../shared/schemas.ts";
import { dirname } from "node:path";
import {
  type NewEvent,
  type NodeRecord,
  type Store,
  StoreFullError,
  type StoreHealth,
} from "./store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nodes (
  id INTEGER PRIMARY KEY,
  desired_power TEXT NOT NULL DEFAULT 'off',
  mac TEXT,
  led_requested TEXT,
  enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  node INTEGER,
  message TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS last_seen (
  node INTEGER PRIMARY KEY,
  at INTEGER NOT NULL
);
`;

/** The row every store of the hub carries from its creation: how a damaged file is told. */
const MARKER = "cluster-hub store v1";

/** Most events kept; older ones are pruned on insert. */
const MAX_EVENTS = 50_000;
/** Most finished jobs kept; older ones are pruned now and then. */
const MAX_JOBS = 2_000;
/** While degraded, how often `health()` tries a write to see whether space came back, ms. */
const PROBE_EVERY_MS = 1000;

/**
 * SQLite's "database or disk is full" (SQLITE_FULL, and its extended codes). Statements carry
 * `errcode`; errors from `exec()` (BEGIN/COMMIT) carry only the message.
 */
function isDiskFull(e: unknown): boolean {
  const err = e as { errcode?: unknown; code?: unknown; message?: unknown } | null;
  if (typeof err?.errcode === "number") return (err.errcode & 0xff) === 13;
  return err?.code === "ERR_SQLITE_ERROR" && err.message === "database or disk is full";
}

interface NodeRow {
  id: number;
  desired_power: string;
  mac: string | null;
  led_requested: string | null;
  enabled: number;
}

interface EventRow {
  id: number;
  at: number;
  type: string;
  node: number | null;
  message: string;
  data: string;
}

function defaultNode(id: number): NodeRecord {
  return { id, desiredPower: "off", mac: null, ledRequested: null, enabled: true };
}

function toNode(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    desiredPower: row.desired_power as PowerState,
    mac: row.mac,
    ledRequested: row.led_requested as RequestedLedMode | null,
    enabled: row.enabled === 1,
  };
}

function toEvent(row: EventRow): ClusterEvent {
  return {
    id: row.id,
    at: row.at,
    type: row.type as EventType,
    node: row.node,
    message: row.message,
    data: JSON.parse(row.data),
  };
}

/** The error for a store file that is there but is not (or no longer) the hub's database. */
function damaged(path: string, why: string): Error {
  return new Error(
    `${path} is damaged (${why}). The hub will not start on it: a fresh store would forget ` +
      "every node's desired power, the enabled bays, learned MACs, jobs and events, and the " +
      "restore would switch running nodes off. Restore the file from a backup, or move it " +
      "(and any -wal file beside it) away to start with an empty state.",
  );
}

/** SQLite's own corruption errors (a half-truncated file) become the same clear error. */
function damagedIfCorrupt(e: unknown, path: string): unknown {
  const text = String(e instanceof Error ? e.message : e);
  return /malformed|not a database|corrupt/i.test(text) ? damaged(path, text) : e;
}

function markCreated(db: DatabaseSync): void {
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('store', ?)").run(MARKER);
}

/**
 * Before opening `path`: a missing file is created whole (schema and marker written under a
 * temporary name, then renamed), so an existing file always had the schema once. An empty
 * file, or a WAL left without its database, is damage; it is reported, never rewritten.
 */
function prepareFile(path: string): void {
  let size: number | null = null;
  try {
    size = Deno.statSync(path).size;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (size === 0) throw damaged(path, "it is empty: 0 bytes");
  if (size !== null) {
    Deno.chmodSync(path, 0o600); // before SQLite opens a WAL: it copies the database's mode
    return;
  }
  if (existsSync(`${path}-wal`)) {
    throw damaged(path, `it is missing but ${path}-wal is there`);
  }
  const fresh = `${path}.new`;
  for (const f of [fresh, `${fresh}-wal`, `${fresh}-shm`, `${fresh}-journal`]) {
    try {
      Deno.removeSync(f);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  // Created owner-only before SQLite touches it; its journal files inherit the mode.
  Deno.openSync(fresh, { write: true, createNew: true, mode: 0o600 }).close();
  const db = new DatabaseSync(fresh);
  try {
    db.exec("PRAGMA journal_mode = WAL;");
    db.exec(`BEGIN; ${SCHEMA} COMMIT;`);
    markCreated(db);
  } finally {
    db.close(); // checkpoints and removes the WAL
  }
  Deno.renameSync(fresh, path);
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * An opened existing file must carry the marker. A store from before the marker (it has the
 * hub's tables) gets it now; a file with neither is damaged.
 */
function checkSchema(db: DatabaseSync, path: string): void {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as unknown as {
      name: string;
    }[]).map((r) => r.name),
  );
  if (tables.has("meta")) {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'store'").get() as
      | { value: string }
      | undefined;
    if (row?.value === MARKER) return;
    throw damaged(path, "its marker row is missing");
  }
  if (["nodes", "events", "jobs", "settings"].every((t) => tables.has(t))) {
    db.exec(SCHEMA);
    markCreated(db);
    return;
  }
  throw damaged(
    path,
    tables.size === 0 ? "it holds no tables" : `it lacks the hub's tables (has ${[...tables]})`,
  );
}

/** SQLite-backed store. Pass ":memory:" for a throwaway store. */
export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  /** Node records are read on every heartbeat: keep them in memory, write through. */
  readonly #nodeCache = new Map<number, NodeRecord>();

  #jobWrites = 0;
  readonly #dataDir: string;
  /** When writes started failing for lack of space (ms since epoch), or null. */
  #degradedSince: number | null = null;
  #lastProbe = 0;

  /**
   * Opens (or creates) the store. The database is held in exclusive locking mode, so a second
   * hub pointed at the same data directory fails here instead of acting on this one's state.
   */
  constructor(path: string) {
    this.#dataDir = path === ":memory:" ? ":memory:" : dirname(path);
    if (path !== ":memory:") prepareFile(path);
    try {
      this.#db = openExclusiveDb(
        path,
        `${path} is in use by another hub process; stop it first, or give this one its own --data-dir`,
      );
    } catch (e) {
      throw damagedIfCorrupt(e, path); // e.g. random bytes: "file is not a database"
    }
    if (path === ":memory:") {
      this.#db.exec(SCHEMA);
      markCreated(this.#db);
      return;
    }
    try {
      checkSchema(this.#db, path);
      this.#db.exec(SCHEMA);
    } catch (e) {
      this.#db.close();
      throw damagedIfCorrupt(e, path);
    }
    // The WAL and shared-memory files are as secret as the database.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        Deno.chmodSync(f, 0o600);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }

  nodes(ids: readonly number[]): NodeRecord[] {
    return ids.map((id) => this.node(id));
  }

  node(id: number): NodeRecord {
    const cached = this.#nodeCache.get(id);
    if (cached) return { ...cached };
    const row = this.#db.prepare("SELECT * FROM nodes WHERE id = ?").get(id) as
      | NodeRow
      | undefined;
    const record = row ? toNode(row) : defaultNode(id);
    this.#nodeCache.set(id, record);
    return { ...record };
  }

  updateNode(id: number, patch: Partial<Omit<NodeRecord, "id">>): void {
    const next = { ...this.node(id), ...patch };
    this.#write(() =>
      this.#db.prepare(
        `INSERT INTO nodes (id, desired_power, mac, led_requested, enabled) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET desired_power = excluded.desired_power, mac = excluded.mac,
         led_requested = excluded.led_requested, enabled = excluded.enabled`,
      ).run(id, next.desiredPower, next.mac, next.ledRequested, next.enabled ? 1 : 0)
    );
    this.#nodeCache.set(id, next);
  }

  appendEvent(event: NewEvent): ClusterEvent {
    return this.#write(() => {
      const r = this.#db.prepare(
        "INSERT INTO events (at, type, node, message, data) VALUES (?, ?, ?, ?, ?)",
      ).run(
        Math.round(event.at),
        event.type,
        event.node,
        event.message,
        JSON.stringify(event.data),
      );
      const id = Number(r.lastInsertRowid);
      if (id % 1000 === 0) {
        this.#db.prepare("DELETE FROM events WHERE id <= ?").run(id - MAX_EVENTS);
      }
      return { ...event, at: Math.round(event.at), id };
    });
  }

  eventsAfter(afterId: number, limit: number): ClusterEvent[] {
    const rows = this.#db.prepare("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?").all(
      afterId,
      limit,
    ) as unknown as EventRow[];
    return rows.map(toEvent);
  }

  latestEvents(limit: number): ClusterEvent[] {
    const rows = this.#db.prepare("SELECT * FROM events ORDER BY id DESC LIMIT ?").all(
      limit,
    ) as unknown as EventRow[];
    return rows.map(toEvent).reverse();
  }

  unfinishedJobs(): Job[] {
    const rows = this.#db.prepare(
      `SELECT body FROM jobs WHERE json_extract(body, '$.state') IN ('running', 'queued')`,
    ).all() as unknown as { body: string }[];
    return rows.map((r) => JSON.parse(r.body));
  }

  saveJob(job: Job): void {
    this.#write(() => this.#saveJob(job));
  }

  #saveJob(job: Job): void {
    if (++this.#jobWrites % 200 === 0) {
      this.#db.prepare(
        `DELETE FROM jobs WHERE json_extract(body, '$.state') NOT IN ('running', 'queued')
           AND id NOT IN (SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)`,
      ).run(MAX_JOBS);
    }
    this.#db.prepare(
      `INSERT INTO jobs (id, created_at, body) VALUES (?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET body = excluded.body`,
    ).run(job.id, job.createdAt, JSON.stringify(job));
  }

  job(id: string): Job | undefined {
    const row = this.#db.prepare("SELECT body FROM jobs WHERE id = ?").get(id) as
      | { body: string }
      | undefined;
    return row ? JSON.parse(row.body) : undefined;
  }

  jobs(limit: number): Job[] {
    const rows = this.#db.prepare(
      "SELECT body FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?",
    ).all(limit) as unknown as { body: string }[];
    return rows.map((r) => JSON.parse(r.body));
  }

  lastSeen(): Map<number, number> {
    const rows = this.#db.prepare("SELECT node, at FROM last_seen").all() as unknown as {
      node: number;
      at: number;
    }[];
    return new Map(rows.map((r) => [r.node, r.at]));
  }

  saveLastSeen(seen: ReadonlyMap<number, number>): void {
    if (seen.size === 0) return;
    const put = this.#db.prepare(
      `INSERT INTO last_seen (node, at) VALUES (?, ?)
       ON CONFLICT(node) DO UPDATE SET at = excluded.at`,
    );
    this.#write(() => {
      this.#db.exec("BEGIN");
      try {
        for (const [node, at] of seen) put.run(node, Math.round(at));
        this.#db.exec("COMMIT");
      } catch (e) {
        // A failed COMMIT (disk full) may have rolled back already.
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw e;
      }
    });
  }

  getSetting<T>(key: string): T | undefined {
    const row = this.#db.prepare("SELECT value FROM settings WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row ? JSON.parse(row.value) as T : undefined;
  }

  setSetting(key: string, value: unknown): void {
    this.#write(() =>
      this.#db.prepare(
        `INSERT INTO settings (key, value) VALUES (?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ).run(key, JSON.stringify(value))
    );
  }

  health(): StoreHealth {
    const now = Date.now();
    if (this.#degradedSince !== null && now - this.#lastProbe >= PROBE_EVERY_MS) {
      this.#lastProbe = now;
      try {
        this.#write(() =>
          this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)")
            .run(String(now))
        );
      } catch { /* still full (or worse): stays degraded */ }
    }
    if (this.#degradedSince === null) return { state: "ok", dataDir: this.#dataDir };
    return {
      state: "degraded",
      dataDir: this.#dataDir,
      since: this.#degradedSince,
      message: new StoreFullError(this.#dataDir).message,
    };
  }

  /** Runs a write; a full disk marks the store degraded and becomes a StoreFullError. */
  #write<T>(fn: () => T): T {
    let result: T;
    try {
      result = fn();
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      if (this.#degradedSince === null) {
        this.#degradedSince = Date.now();
        this.#lastProbe = this.#degradedSince;
        console.error(
          `hub: the store cannot write: ${this.#dataDir} is full; refusing changes until space returns`,
        );
      }
      throw new StoreFullError(this.#dataDir);
    }
    if (this.#degradedSince !== null) {
      this.#degradedSince = null;
      console.error(`hub: the store writes again (${this.#dataDir} has space)`);
    }
    return result;
  }

  close(): void {
    this.#db.close();
  }
}
