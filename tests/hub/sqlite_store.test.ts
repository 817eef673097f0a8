import { layerErrorCode } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Job } from "../../shared/schemas.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { buildNodeMap, nodeIds } from "../../shared/node_map.ts";
import { type NewEvent, StoreFullError, StoreLockedError } from "../../hub/store/store.ts";
import { SmallDisk } from "../support/small_disk.ts";

const T0 = 1_700_000_000_000;

function withStore(fn: (s: SqliteStore) => void | Promise<void>) {
  return async () => {
    const s = new SqliteStore(":memory:");
    try {
      await fn(s);
    } finally {
      s.close();
    }
  };
}

function ev(i: number, over: Partial<NewEvent> = {}): NewEvent {
  return {
    at: T0 + i,
    type: "power_changed",
    node: (i % 60) + 1,
    message: `event ${i}`,
    data: { i },
    ...over,
  };
}

function job(id: string, createdAt: number, over: Partial<Job> = {}): Job {
  return {
    id,
    kind: "power",
    state: "running",
    summary: `job ${id}`,
    progress: { done: 0, total: 1 },
    createdAt,
    finishedAt: null,
    error: null,
    ...over,
  };
}

Deno.test(
  "SqliteStore: node records read as defaults until written",
  withStore((s) => {
    const nodes = s.nodes(nodeIds(buildNodeMap()));
    assert.equal(nodes.length, 60);
    nodes.forEach((n, i) => {
      assert.deepEqual(n, {
        id: i + 1,
        desiredPower: "off",
        mac: null,
        ledRequested: null,
        enabled: true,
      });
    });
    assert.deepEqual(s.node(17), {
      id: 17,
      desiredPower: "off",
      mac: null,
      ledRequested: null,
      enabled: true,
    });
  }),
);

Deno.test(
  "SqliteStore: updateNode patches only the given fields",
  withStore((s) => {
    s.updateNode(5, { desiredPower: "on" });
    s.updateNode(5, { mac: "b8:27:eb:00:00:05" });
    s.updateNode(5, { ledRequested: "identify", enabled: false });
    assert.deepEqual(s.node(5), {
      id: 5,
      desiredPower: "on",
      mac: "b8:27:eb:00:00:05",
      ledRequested: "identify",
      enabled: false,
    });
    // Clearing back to null / true works too.
    s.updateNode(5, { ledRequested: null, enabled: true });
    assert.equal(s.node(5).ledRequested, null);
    assert.equal(s.node(5).enabled, true);
    assert.equal(s.node(5).desiredPower, "on", "untouched field kept");
    // Other nodes unaffected; nodes() merges written and default records in id order.
    s.updateNode(60, { desiredPower: "on" });
    const all = s.nodes(nodeIds(buildNodeMap()));
    assert.deepEqual(all.map((n) => n.id), Array.from({ length: 60 }, (_, i) => i + 1));
    assert.deepEqual(
      all.filter((n) => n.desiredPower === "on").map((n) => n.id),
      [5, 60],
    );
    assert.equal(s.node(4).mac, null);
    // A smaller count leaves out higher records.
    assert.equal(s.nodes(nodeIds(buildNodeMap({ nodeCount: 48 }))).length, 48);
    assert.ok(s.nodes(nodeIds(buildNodeMap({ nodeCount: 48 }))).every((n) => n.id !== 60));
  }),
);

Deno.test(
  "SqliteStore: events get increasing ids and round-trip their fields",
  withStore((s) => {
    const a = s.appendEvent(ev(1, { data: { nested: { list: [1, "two", null] } }, node: null }));
    const b = s.appendEvent(ev(2, { at: T0 + 2.6 }));
    assert.equal(a.id, 1);
    assert.equal(b.id, 2);
    assert.equal(b.at, T0 + 3, "fractional times are rounded");
    const stored = s.eventsAfter(0, 10);
    assert.deepEqual(stored, [a, b]);
    assert.deepEqual(stored[0].data, { nested: { list: [1, "two", null] } });
    assert.equal(stored[0].node, null);
    assert.equal(stored[1].type, "power_changed");
  }),
);

Deno.test(
  "SqliteStore: eventsAfter and latestEvents order and limits",
  withStore((s) => {
    for (let i = 1; i <= 25; i++) s.appendEvent(ev(i));
    const ids = (list: { id: number }[]) => list.map((e) => e.id);
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    assert.deepEqual(ids(s.eventsAfter(0, 1000)), range(1, 25));
    assert.deepEqual(ids(s.eventsAfter(10, 5)), range(11, 15));
    assert.deepEqual(ids(s.eventsAfter(25, 5)), []);
    assert.deepEqual(ids(s.eventsAfter(-1, 2)), [1, 2]);
    // The newest N, oldest first.
    assert.deepEqual(ids(s.latestEvents(5)), range(21, 25));
    assert.deepEqual(ids(s.latestEvents(100)), range(1, 25));
    assert.deepEqual(ids(s.latestEvents(0)), []);
    // Message and data belong to the right event.
    for (const e of s.eventsAfter(0, 100)) {
      assert.equal(e.message, `event ${e.id}`);
      assert.deepEqual(e.data, { i: e.id });
    }
  }),
);

Deno.test(
  "SqliteStore: jobs upsert, lookup and newest-first listing",
  withStore((s) => {
    assert.equal(s.job("missing"), undefined);
    assert.deepEqual(s.jobs(10), []);
    s.saveJob(job("a", T0));
    s.saveJob(job("b", T0 + 10));
    s.saveJob(job("c", T0 + 10)); // same time as b, saved later
    s.saveJob(job("d", T0 + 5));
    assert.deepEqual(s.jobs(10).map((j) => j.id), ["c", "b", "d", "a"]);
    assert.deepEqual(s.jobs(2).map((j) => j.id), ["c", "b"]);
    // Upsert replaces the body but keeps the job's place.
    const done = job("b", T0 + 10, {
      state: "succeeded",
      finishedAt: T0 + 99,
      progress: { done: 1, total: 1 },
      result: [{ node: 3, ok: true }],
    });
    s.saveJob(done);
    assert.deepEqual(s.job("b"), done);
    assert.deepEqual(s.jobs(10).map((j) => j.id), ["c", "b", "d", "a"]);
    assert.equal(s.jobs(10).length, 4);
  }),
);

Deno.test(
  "SqliteStore: settings are JSON values, overwritten in place",
  withStore((s) => {
    assert.equal(s.getSetting("nope"), undefined);
    s.setSetting("token", "abc");
    s.setSetting("limits", { perBus: 2, list: [1, 2] });
    s.setSetting("flag", false);
    s.setSetting("nothing", null);
    assert.equal(s.getSetting<string>("token"), "abc");
    assert.deepEqual(s.getSetting("limits"), { perBus: 2, list: [1, 2] });
    assert.equal(s.getSetting("flag"), false);
    assert.equal(s.getSetting("nothing"), null);
    s.setSetting("token", "def");
    assert.equal(s.getSetting("token"), "def");
  }),
);

Deno.test("SqliteStore: everything persists across close and reopen of a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const path = join(dir, "hub.db");
  try {
    const s1 = new SqliteStore(path);
    s1.updateNode(7, { desiredPower: "on", mac: "b8:27:eb:aa:bb:cc", enabled: false });
    for (let i = 1; i <= 3; i++) s1.appendEvent(ev(i));
    s1.saveJob(job("j1", T0, { state: "succeeded", finishedAt: T0 + 1 }));
    s1.setSetting("k", { v: 1 });
    s1.close();

    const s2 = new SqliteStore(path);
    try {
      assert.deepEqual(s2.node(7), {
        id: 7,
        desiredPower: "on",
        mac: "b8:27:eb:aa:bb:cc",
        ledRequested: null,
        enabled: false,
      });
      assert.deepEqual(s2.latestEvents(10).map((e) => e.message), [
        "event 1",
        "event 2",
        "event 3",
      ]);
      // Ids continue after a reopen, never reused.
      assert.equal(s2.appendEvent(ev(4)).id, 4);
      assert.equal(s2.job("j1")?.state, "succeeded");
      assert.deepEqual(s2.getSetting("k"), { v: 1 });
    } finally {
      s2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: a second store on the same file is refused while the first is open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = new SqliteStore(`${dir}/hub.sqlite`);
    assert.throws(() => new SqliteStore(`${dir}/hub.sqlite`), (e: unknown) => {
      assert.ok(e instanceof StoreLockedError);
      assert.equal(layerErrorCode(e), "conflict");
      assert.match(e.message, /in use by another hub process/);
      return true;
    });
    first.updateNode(3, { desiredPower: "on" });
    first.close();
    const again = new SqliteStore(`${dir}/hub.sqlite`);
    assert.equal(again.node(3).desiredPower, "on");
    assert.equal((await Deno.stat(`${dir}/hub.sqlite`)).mode! & 0o777, 0o600);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: unfinished jobs are found however old, finished ones are pruned", () => {
  const store = new SqliteStore(":memory:");
  try {
    const job = (id: string, createdAt: number, state: "running" | "succeeded") => ({
      id,
      kind: "power" as const,
      state,
      summary: id,
      progress: { done: 0, total: 1 },
      createdAt,
      finishedAt: null,
      error: null,
    });
    store.saveJob(job("old-running", 1, "running"));
    for (let i = 0; i < 2_400; i++) store.saveJob(job(`done-${i}`, 10 + i, "succeeded"));
    assert.deepEqual(store.unfinishedJobs().map((j) => j.id), ["old-running"]);
    assert.ok(store.jobs(10_000).length <= 2_001 + 200, "finished jobs are pruned");
    assert.ok(store.job("done-2399"), "the newest are kept");
    assert.equal(store.job("done-0"), undefined, "the oldest finished are gone");
  } finally {
    store.close();
  }
});

Deno.test("SqliteStore: a store written before the marker existed opens and keeps its data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const path = join(dir, "hub.sqlite");
  try {
    const { DatabaseSync } = await import("node:sqlite");
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE nodes (id INTEGER PRIMARY KEY, desired_power TEXT NOT NULL DEFAULT 'off',
      mac TEXT, led_requested TEXT, enabled INTEGER NOT NULL DEFAULT 1);
      CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
      type TEXT NOT NULL, node INTEGER, message TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE jobs (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO nodes (id, desired_power) VALUES (9, 'on');`);
    old.close();
    for (let i = 0; i < 2; i++) {
      const s = new SqliteStore(path);
      assert.equal(s.node(9).desiredPower, "on");
      s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: a WAL without its database is refused as damaged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const path = join(dir, "hub.sqlite");
  try {
    await Deno.writeTextFile(`${path}-wal`, "leftover");
    assert.throws(() => new SqliteStore(path), /hub\.sqlite is damaged .*-wal is there/);
    assert.equal(await Deno.stat(path).catch(() => null), null, "nothing was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: last-heard times persist; a store from before them gains the table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const path = join(dir, "hub.sqlite");
  try {
    const s1 = new SqliteStore(path);
    assert.deepEqual(s1.lastSeen(), new Map());
    s1.saveLastSeen(new Map([[3, T0], [60, T0 + 5]]));
    s1.saveLastSeen(new Map([[3, T0 + 1000.4]]));
    s1.close();
    const s2 = new SqliteStore(path);
    assert.deepEqual(s2.lastSeen(), new Map([[3, T0 + 1000], [60, T0 + 5]]));
    s2.close();

    // A store written by a hub from before last-heard times were kept: no last_seen table.
    const { DatabaseSync } = await import("node:sqlite");
    const old = new DatabaseSync(path);
    old.exec("DROP TABLE last_seen");
    old.close();
    const s3 = new SqliteStore(path);
    try {
      assert.deepEqual(s3.lastSeen(), new Map());
      s3.saveLastSeen(new Map([[7, T0]]));
      assert.deepEqual(s3.lastSeen(), new Map([[7, T0]]));
    } finally {
      s3.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: a file of random bytes is refused as damaged, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const path = join(dir, "hub.sqlite");
  try {
    const junk = new Uint8Array(5000);
    crypto.getRandomValues(junk);
    junk.set(new TextEncoder().encode("not SQLite"), 0); // never a valid header by chance
    await Deno.writeFile(path, junk);
    assert.throws(() => new SqliteStore(path), /hub\.sqlite is damaged \(file is not a database\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: a full disk is a typed insufficient_storage error and degraded health; space back, writes work", async () => {
  const disk = await SmallDisk.mount(2);
  const s = new SqliteStore(join(disk.dir, "hub.sqlite"));
  try {
    assert.deepEqual(s.health(), { state: "ok", dataDir: disk.dir });
    s.appendEvent(ev(0, { message: "before" }));
    await disk.fill();
    let refused: unknown;
    for (let i = 0; i < 2000 && refused === undefined; i++) {
      try {
        s.appendEvent(ev(i, { message: "x".repeat(2000) }));
      } catch (e) {
        refused = e;
      }
    }
    assert.ok(refused instanceof StoreFullError, `a StoreFullError, not ${refused}`);
    assert.equal(layerErrorCode(refused), "insufficient_storage");
    assert.ok(refused.message.includes(disk.dir), refused.message);
    assert.throws(() => s.saveJob(job("j1", T0, { summary: "y".repeat(8000) })), StoreFullError);
    const h = s.health();
    assert.equal(h.state, "degraded");
    assert.equal(h.dataDir, disk.dir);
    assert.ok(h.message?.includes(disk.dir));
    // Reads go on.
    assert.equal(s.latestEvents(1)[0].message, "before");
    await disk.free();
    await new Promise((r) => setTimeout(r, 1100)); // health() probes at most once a second
    assert.equal(s.health().state, "ok");
    s.saveJob(job("j2", T0));
    assert.equal(s.job("j2")?.id, "j2");
  } finally {
    s.close();
    await disk.unmount();
  }
});
