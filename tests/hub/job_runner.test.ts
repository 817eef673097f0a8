import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { ClusterError } from "../../shared/errors.ts";
import type { ClusterEvent } from "../../shared/schemas.ts";
import { Job as JobSchema } from "../../shared/schemas.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { StoreFullError } from "../../hub/store/store.ts";
import { layerErrorCode } from "../../hub/http/errors.ts";
import { EventLog } from "../../hub/events/event_log.ts";
import { type JobHandle, JobRunner } from "../../hub/jobs/job_runner.ts";
import { SmallDisk } from "../support/small_disk.ts";
import { join } from "node:path";

const T0 = 1_700_000_000_000;

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(store = new SqliteStore(":memory:"), clock = new FakeClock(T0)) {
  const log = new EventLog(store, clock);
  const events: ClusterEvent[] = [];
  log.subscribe((e) => events.push(e));
  const runner = new JobRunner(store, log, clock);
  const jobEvents = (id: string) => events.filter((e) => e.data.job === id);
  return { clock, store, log, events, runner, jobEvents };
}

Deno.test("JobRunner: a job starts running, reports progress and succeeds", async () => {
  const t = setup();
  try {
    const gate = deferred<void>();
    let handle!: JobHandle;
    const job = t.runner.start("power", "on 1-3", 3, async (h) => {
      handle = h;
      await gate.promise;
      return [{ node: 1, ok: true }];
    });
    assert.ok(JobSchema.safeParse(job).success, "the job matches the shared Job schema");
    assert.equal(job.state, "running");
    assert.equal(job.kind, "power");
    assert.equal(job.summary, "on 1-3");
    assert.deepEqual(job.progress, { done: 0, total: 3 });
    assert.equal(job.createdAt, T0);
    assert.equal(job.finishedAt, null);
    assert.equal(job.error, null);
    assert.match(job.id, /^power-/);
    assert.equal(t.store.job(job.id)?.state, "running", "stored at once");
    assert.equal(t.runner.running("power")?.id, job.id);
    assert.equal(t.runner.running("testall"), undefined);

    handle.progress(1);
    handle.progress(2, undefined, "node 2 on");
    assert.deepEqual(t.runner.get(job.id).progress, { done: 2, total: 3, note: "node 2 on" });
    const progressEvents = t.jobEvents(job.id);
    assert.deepEqual(progressEvents.map((e) => e.data.done), [0, 1, 2]);
    assert.equal(progressEvents[2].message, "node 2 on");
    assert.ok(progressEvents.every((e) => e.type === "job_progress" && e.data.state === "running"));

    handle.progress(3);
    await t.clock.advance(1234);
    gate.resolve();
    const finished = await t.runner.wait(job.id);
    assert.equal(finished.state, "succeeded");
    assert.deepEqual(finished.result, [{ node: 1, ok: true }]);
    assert.equal(finished.finishedAt, T0 + 1234);
    assert.deepEqual(finished.progress, { done: 3, total: 3 });
    assert.equal(finished.error, null);

    // Stored as finished; get() and wait() answer from the store afterwards.
    const stored = t.store.job(job.id)!;
    assert.equal(stored.state, "succeeded");
    assert.deepEqual(stored.result, [{ node: 1, ok: true }]);
    assert.deepEqual(t.runner.get(job.id), stored);
    assert.deepEqual(await t.runner.wait(job.id), stored);
    assert.equal(t.runner.running("power"), undefined);
    const last = t.jobEvents(job.id).at(-1)!;
    assert.equal(last.data.state, "succeeded");
    assert.equal(t.runner.finished.get("power:succeeded"), 1);
  } finally {
    t.store.close();
  }
});

Deno.test("JobRunner: a failing job is stored failed with its error message", async () => {
  const t = setup();
  try {
    const job = t.runner.start("testall", "all", 60, () => {
      return Promise.reject(new Error("node 17 did not answer"));
    });
    const done = await t.runner.wait(job.id);
    assert.equal(done.state, "failed");
    assert.equal(done.error, "node 17 did not answer");
    assert.equal(done.finishedAt, T0);
    assert.equal(t.store.job(job.id)?.state, "failed");
    assert.equal(t.store.job(job.id)?.error, "node 17 did not answer");
    assert.match(t.jobEvents(job.id).at(-1)!.message, /failed: node 17 did not answer/);
    assert.equal(t.runner.finished.get("testall:failed"), 1);
  } finally {
    t.store.close();
  }
});

Deno.test("JobRunner: a work function that throws synchronously or a non-Error still fails cleanly", async () => {
  const t = setup();
  try {
    const sync = t.runner.start("activetest", "x", 1, () => {
      throw new Error("sync boom");
    });
    assert.equal((await t.runner.wait(sync.id)).error, "sync boom");
    const odd = t.runner.start("activetest", "y", 1, () => Promise.reject("plain string"));
    const r = await t.runner.wait(odd.id);
    assert.equal(r.state, "failed");
    assert.equal(r.error, "plain string");
  } finally {
    t.store.close();
  }
});

Deno.test("JobRunner: progress is stored at most every 200 ms, and always at the end", async () => {
  const t = setup();
  try {
    const gate = deferred<void>();
    let h!: JobHandle;
    const job = t.runner.start("power", "on all", 10, async (handle) => {
      h = handle;
      await gate.promise;
    });
    h.progress(1);
    assert.equal(t.store.job(job.id)!.progress.done, 1);
    await t.clock.advance(100);
    h.progress(2);
    assert.equal(t.store.job(job.id)!.progress.done, 1, "not stored again within 200 ms");
    assert.equal(t.runner.get(job.id).progress.done, 2, "but visible live");
    await t.clock.advance(100);
    h.progress(3);
    assert.equal(t.store.job(job.id)!.progress.done, 3);
    h.progress(10);
    assert.equal(t.store.job(job.id)!.progress.done, 10, "the last step is always stored");
    h.progress(4, 20); // total may grow
    assert.deepEqual(t.runner.get(job.id).progress, { done: 4, total: 20 });
    gate.resolve();
    assert.deepEqual((await t.runner.wait(job.id)).progress, { done: 4, total: 20 });
    assert.deepEqual(t.store.job(job.id)!.progress, { done: 4, total: 20 });
  } finally {
    t.store.close();
  }
});

Deno.test("JobRunner: get of an unknown job is not_found; list is newest first", async () => {
  const t = setup();
  try {
    assert.throws(() => t.runner.get("nope"), (e: unknown) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.code, "not_found");
      assert.match(e.message, /nope/);
      return true;
    });
    await assert.rejects(async () => await t.runner.wait("nope"), ClusterError);

    const a = t.runner.start("power", "a", 1, () => Promise.resolve());
    await t.clock.advance(10);
    const b = t.runner.start("power", "b", 1, () => Promise.resolve());
    const c = t.runner.start("testall", "c", 1, () => new Promise(() => {})); // never ends
    await t.runner.wait(a.id);
    await t.runner.wait(b.id);
    const list = t.runner.list();
    assert.deepEqual(list.map((j) => j.summary), ["c", "b", "a"]);
    assert.deepEqual(list.map((j) => j.state), ["running", "succeeded", "succeeded"]);
    assert.deepEqual(t.runner.list(2).map((j) => j.id), [c.id, b.id]);
    assert.notEqual(a.id, b.id);
  } finally {
    t.store.close();
  }
});

Deno.test("JobRunner: recoverInterrupted fails jobs left running by a previous process", async () => {
  const store = new SqliteStore(":memory:");
  try {
    // The "previous process": one job finished, two still running when it "died".
    const first = setup(store);
    const finished = first.runner.start("power", "on 1", 1, () => Promise.resolve("fine"));
    await first.runner.wait(finished.id);
    const stuckA = first.runner.start("bootstrap", "all", 60, () => new Promise(() => {}));
    const stuckB = first.runner.start("testall", "1-16", 16, () => new Promise(() => {}));

    // The "next process" on the same store, some time later.
    const clock2 = new FakeClock(T0 + 60_000);
    const second = setup(store, clock2);
    const recovered = second.runner.recoverInterrupted();
    assert.deepEqual(recovered.map((j) => j.id).sort(), [stuckA.id, stuckB.id].sort());
    for (const id of [stuckA.id, stuckB.id]) {
      const job = second.runner.get(id);
      assert.equal(job.state, "failed");
      assert.match(job.error!, /hub restarted while this job was running/);
      assert.equal(job.finishedAt, T0 + 60_000);
      assert.deepEqual(await second.runner.wait(id), job);
      const ev = second.jobEvents(id);
      assert.equal(ev.length, 1);
      assert.equal(ev[0].data.state, "failed");
      assert.match(ev[0].message, /interrupted by restart/);
    }
    const ok = second.runner.get(finished.id);
    assert.equal(ok.state, "succeeded");
    assert.equal(ok.result, "fine");
    // Idempotent: nothing left to recover.
    assert.deepEqual(second.runner.recoverInterrupted(), []);
  } finally {
    store.close();
  }
});

// wait() of an unknown id must reject, not throw, so `runner.wait(id).catch(...)` catches it.
Deno.test({
  name: "JobRunner: wait of an unknown job returns a rejected promise, never throws",
  async fn() {
    const t = setup();
    try {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = t.runner.wait("nope");
      });
      await assert.rejects(() => p!, ClusterError);
    } finally {
      t.store.close();
    }
  },
});

Deno.test("JobRunner: a full disk mid-job: `done` never rejects (nobody may await it), the outcome is kept and stored once space returns", async () => {
  const disk = await SmallDisk.mount(2);
  const store = new SqliteStore(join(disk.dir, "hub.sqlite"));
  const t = setup(store);
  try {
    const gate = deferred<void>();
    // As ?wait=false, WebSocket power and runs do: nobody awaits the job.
    const job = t.runner.start("power", "cycle 1-60", 60, async (h) => {
      await gate.promise;
      for (let i = 1; i <= 60; i++) {
        t.clock.advance(250);
        h.progress(i, 60, `node ${i} cycled ${"x".repeat(4000)}`);
      }
      return { cycled: 60 };
    });
    await disk.fill();
    gate.resolve();
    const finished = await t.runner.wait(job.id);
    assert.equal(finished.state, "succeeded", "the power work itself succeeded");
    assert.equal(store.health().state, "degraded");
    assert.ok(t.log.unstored > 0, "events that could not be stored are counted");
    // The outcome is answered from memory while the store cannot take it.
    assert.equal(t.runner.get(job.id).state, "succeeded");
    assert.equal(t.runner.list(5)[0].state, "succeeded");
    // A new job cannot even be recorded: a typed 507, not a crash.
    assert.throws(
      () => t.runner.start("power", "on 1", 1, () => Promise.resolve()),
      (e: unknown) => e instanceof StoreFullError && layerErrorCode(e) === "insufficient_storage",
    );
    await disk.free();
    const next = t.runner.start("power", "on 1", 1, () => Promise.resolve());
    await t.runner.wait(next.id);
    assert.equal(store.job(job.id)?.state, "succeeded", "stored once space returned");
  } finally {
    store.close();
    await disk.unmount();
  }
});
