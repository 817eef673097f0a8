/** Nothing is lost on restart: desired power, LED requests, events, jobs, secrets. */
import assert from "node:assert/strict";
import { NodeStatus } from "../../shared/schemas.ts";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("a restarted hub restores desired power, LED modes, events and jobs", async () => {
  const first = await startTestHub();
  const dir = first.dataDir;
  try {
    const res = await first.call("POST", "/api/v1/power", { state: "on", nodes: "2-4,40" });
    const job = await res.json();
    assert.equal(job.state, "succeeded");
    await first.call("POST", "/api/v1/nodes/3/led", { mode: "identify" });
    const lastEvent = first.hub.events.latest(1)[0].id;
    await first.close();

    // A new process: the simulated module's rails start off, as after a power loss.
    const second = await startTestHub({ dataDir: dir });
    try {
      const restore = second.hub.jobs.list().find((j) => j.summary.startsWith("restore"));
      assert.ok(restore, "a restore job was started");
      // Only what is switched: no "off -" for nothing to switch off.
      assert.equal(restore.summary, "restore desired state (on 2-4,40)");
      await second.hub.jobs.wait(restore.id);
      for (const id of [2, 3, 4, 40]) {
        const n = NodeStatus.parse(await (await second.call("GET", `/api/v1/nodes/${id}`)).json());
        assert.deepEqual(n.power, { desired: "on", actual: "on" }, `node ${id}`);
      }
      const n5 = NodeStatus.parse(await (await second.call("GET", "/api/v1/nodes/5")).json());
      assert.deepEqual(n5.power, { desired: "off", actual: "off" });
      const n3 = NodeStatus.parse(await (await second.call("GET", "/api/v1/nodes/3")).json());
      assert.equal(n3.ledRequested, "identify");
      const old = await (await second.call("GET", `/api/v1/jobs/${job.id}`)).json();
      assert.equal(old.state, "succeeded");
      assert.equal(old.summary, "on 2-4,40");
      const events = second.hub.events.after(0, 10_000);
      assert.ok(events.some((e) => e.id === lastEvent), "old events survive");
      const started = events.find((e) => e.type === "hub_started" && e.id > lastEvent);
      assert.deepEqual(started?.data.restoring, [2, 3, 4, 40]);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job running when the hub stopped is reported failed after restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const first = await startTestHub({ dataDir: dir });
    // Simulate a crash mid-job: record a running job directly, then reopen.
    first.hub.store.saveJob({
      id: "power-crashed",
      kind: "power",
      state: "running",
      summary: "on 1-60",
      progress: { done: 10, total: 60 },
      createdAt: 1,
      finishedAt: null,
      error: null,
    });
    await first.close();
    const second = await startTestHub({ dataDir: dir });
    try {
      const job = await (await second.call("GET", "/api/v1/jobs/power-crashed")).json();
      assert.equal(job.state, "failed");
      assert.match(job.error, /restarted/);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generated secrets are stored 0600 and reused on restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const a = await startTestHub({
      dataDir: dir,
      settings: { token: undefined, agentKey: undefined },
    });
    assert.ok(a.hub.token.created);
    assert.ok(a.hub.token.value.length >= 40);
    assert.notEqual(a.hub.token.value, a.hub.agentKey.value);
    assert.equal((await Deno.stat(`${dir}/token`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/agent-key`)).mode! & 0o777, 0o600);
    const token = a.hub.token.value;
    await a.close();
    const b = await startTestHub({
      dataDir: dir,
      settings: { token: undefined, agentKey: undefined },
    });
    assert.equal(b.hub.token.created, false);
    assert.equal(b.hub.token.value, token);
    const denied = await b.call("POST", "/api/v1/nodes/1/power", { state: "on" }, {
      auth: "test-admin-token",
    });
    assert.equal(denied.status, 401);
    const ok = await b.call("POST", "/api/v1/nodes/1/power", { state: "on" }, { auth: token });
    assert.equal(ok.status, 200);
    await b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("closing the hub does not wait for a long job: it is recorded as stopped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const a = await startTestHub({ dataDir: dir, overrides: { shutdownGraceMs: 200 } });
    const res = await a.call("POST", "/api/v1/activetest", { nodes: "1-2", timeoutMs: 600_000 });
    const job = await res.json();
    const started = Date.now();
    await a.close();
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
    const b = await startTestHub({ dataDir: dir });
    try {
      const stored = await (await b.call("GET", `/api/v1/jobs/${job.id}`)).json();
      assert.equal(stored.state, "failed");
      assert.match(stored.error, /hub stopped while this job was running/);
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a 0-byte hub.sqlite stops the hub with a clear error and is left as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const first = await startTestHub({ dataDir: dir });
    await first.call("POST", "/api/v1/power", { state: "on", nodes: "2-3" });
    await first.close();
    await Deno.writeFile(`${dir}/hub.sqlite`, new Uint8Array()); // truncated to 0 bytes
    await assert.rejects(() => startTestHub({ dataDir: dir }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /hub\.sqlite/);
      assert.match(e.message, /damaged/);
      return true;
    });
    assert.equal(
      (await Deno.stat(`${dir}/hub.sqlite`)).size,
      0,
      "the damaged file is not rewritten",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hub.sqlite without the hub's schema is refused as damaged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(`${dir}/hub.sqlite`);
    db.exec("CREATE TABLE t (x); DROP TABLE t;"); // a valid SQLite file with no tables
    db.close();
    assert.ok((await Deno.stat(`${dir}/hub.sqlite`)).size > 0);
    await assert.rejects(() => startTestHub({ dataDir: dir }), /hub\.sqlite.*damaged/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a brand-new data dir starts, and the store, its WAL and the secrets are all 0600", async () => {
  const parent = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  const dir = `${parent}/new`;
  try {
    const t = await startTestHub({
      dataDir: dir,
      settings: { token: undefined, agentKey: undefined },
    });
    try {
      await t.call("POST", "/api/v1/nodes/1/power", { state: "on" }); // writes through the WAL
      for (const name of ["hub.sqlite", "hub.sqlite-wal", "hub.sqlite-shm", "token", "agent-key"]) {
        const st = await Deno.stat(`${dir}/${name}`).catch(() => null);
        if (name === "hub.sqlite-shm" && st === null) continue; // exclusive mode needs no -shm
        assert.ok(st, `${name} exists`);
        assert.equal(st.mode! & 0o777, 0o600, name);
      }
    } finally {
      await t.close();
    }
    // Reopening the directory it created works.
    const again = await startTestHub({ dataDir: dir });
    await again.close();
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

/** Timings with a long first stage, so a bootstrap is mid-run when the hub stops. */
const SLOW_BOOTSTRAP = {
  fabricMs: 60_000,
  controlPlaneMs: 10,
  selfTest: { stepMs: 5, holdMs: 60_000 },
  bootGapMs: 10,
  heartbeatTimeoutMs: 60_000,
};

Deno.test("stopping the hub stops a bootstrap like a cancel, without waiting out the grace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const a = await startTestHub({
      dataDir: dir,
      overrides: { shutdownGraceMs: 20_000, timings: SLOW_BOOTSTRAP },
    });
    const job = await (await a.call("POST", "/api/v1/bootstrap", { nodes: "1-4" })).json();
    assert.equal(job.state, "running");
    const started = Date.now();
    await a.close();
    assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
    const b = await startTestHub({ dataDir: dir });
    try {
      const stored = await (await b.call("GET", `/api/v1/jobs/${job.id}`)).json();
      assert.equal(stored.state, "failed");
      assert.equal(stored.errorCode, "cancelled");
      assert.match(stored.error, /the bootstrap .*was stopped because the hub stopped/);
      // Stored as stopped, so the restart does not report it as interrupted.
      const state = await (await b.call("GET", "/api/v1/bootstrap")).json();
      assert.equal(state.state.stage, "failed");
      assert.ok(
        !b.hub.events.after(0, 10_000).some((e) => /interrupted/.test(e.message)),
        "no interrupted-bootstrap fault",
      );
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stopping the hub mid self test switches off what it switched on, then exits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const a = await startTestHub({
      dataDir: dir,
      overrides: { shutdownGraceMs: 20_000, timings: SLOW_BOOTSTRAP },
    });
    const job = await (await a.call("POST", "/api/v1/testall", { nodes: "1-6" })).json();
    // Wait until the self test holds its nodes on.
    const deadline = Date.now() + 5000;
    while (a.hub.tracker.get(6).actual !== "on" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(a.hub.tracker.get(6).actual, "on");
    const started = Date.now();
    await a.close();
    assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
    for (let n = 1; n <= 6; n++) assert.equal(a.hub.tracker.get(n).actual, "off", `node ${n}`);
    const b = await startTestHub({ dataDir: dir });
    try {
      const stored = await (await b.call("GET", `/api/v1/jobs/${job.id}`)).json();
      assert.equal(stored.state, "failed");
      assert.equal(stored.errorCode, "cancelled");
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
