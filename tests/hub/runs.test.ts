/** testall, activetest and bootstrap through the REST API on the simulated module. */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { Job, NodeStatus } from "../../shared/schemas.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { realClock } from "../../shared/clock.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import type { SelfTestReport } from "../../hub/cluster/runs/self_check.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { z } from "zod";
import { sampleHeartbeat } from "../support/samples.ts";

const FAST = scaleTimings(VENDOR_TIMINGS, 0.001);

async function withHub(
  fn: (t: TestHub, sim: SimulatedModule) => Promise<void>,
  nodeCount: 48 | 60 = 60,
) {
  const sim = new SimulatedModule({
    map: buildNodeMap({ nodeCount }),
    clock: realClock,
    settleMs: 0,
  });
  const t = await startTestHub({
    settings: { nodeCount },
    // Bootstraps here run without boot supervision (tests/e2e/boot_recovery.test.ts has it).
    overrides: {
      power: sim,
      timings: FAST,
      sequencer: { stepMs: 1, cycleOffMs: 1 },
      recovery: false,
    },
  });
  try {
    await fn(t, sim);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

async function run(t: TestHub, path: string, body: unknown): Promise<Job> {
  const res = await t.call("POST", path, body);
  assert.equal(res.status, 202, await res.clone().text());
  const job = Job.parse(await res.json());
  return await t.hub.jobs.wait(job.id);
}

Deno.test("testall switches every rail on then off and reports per node and bus", () =>
  withHub(async (t, sim) => {
    const seen: string[] = [];
    sim.onRailChange = (node, state) => seen.push(`${node}:${state}`);
    const job = await run(t, "/api/v1/testall", {});
    assert.equal(job.state, "succeeded", job.error ?? "");
    const report = job.result as SelfTestReport;
    assert.ok(report.pass);
    assert.equal(report.nodes.length, 60);
    assert.equal(report.buses.length, 10);
    assert.ok(report.buses.every((b) => b.passed === 6 && b.failed.length === 0));
    // Every node on in order, then every node off in order.
    const expected = [
      ...Array.from({ length: 60 }, (_, i) => `${i + 1}:on`),
      ...Array.from({ length: 60 }, (_, i) => `${i + 1}:off`),
    ];
    assert.deepEqual(seen, expected);
    const nodes = z.array(NodeStatus).parse(await (await t.call("GET", "/api/v1/nodes")).json());
    assert.ok(nodes.every((n) => n.power.actual === "off" && n.power.desired === "off"));
  }));

Deno.test("testall names a stuck rail and its bus, and fails", () =>
  withHub(async (t, sim) => {
    sim.stuck.add(14); // bus 3, slot 2
    const job = await run(t, "/api/v1/testall", { nodes: "13-18" });
    assert.equal(job.state, "failed");
    const report = job.result as SelfTestReport;
    assert.equal(report.pass, false);
    assert.deepEqual(report.buses, [{ bus: 3, passed: 5, failed: [14] }]);
    assert.match(report.summary, /1 of 6 nodes \(14\)/);
    assert.ok(report.nodes.find((n) => n.node === 14)?.on.error?.includes("reads off"));
  }));

Deno.test("a second module-wide run while one is going is a 409 conflict", () =>
  withHub(async (t) => {
    const first = await t.call("POST", "/api/v1/activetest", { nodes: "1-2", timeoutMs: 300 });
    assert.equal(first.status, 202);
    const second = await t.call("POST", "/api/v1/testall", {});
    assert.equal(second.status, 409);
    assert.equal((await second.json()).error.code, "conflict");
    const job = await t.hub.jobs.wait((await first.json()).id);
    assert.equal(job.state, "failed", "no agents ran, so no node came up");
    assert.match(job.error ?? "", /0\/2 nodes up; down: 1,2/);
  }));

Deno.test("activetest times each node from power-on to first heartbeat", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/activetest", { nodes: "3,4", timeoutMs: 5000 });
    const started = Job.parse(await res.json());
    // Play the agents: node 3 answers at once, node 4 after ~150 ms.
    const beat = (node: number) =>
      t.call(
        "POST",
        "/api/v1/agent/heartbeat",
        sampleHeartbeat(node, { identity: { model: "pi4" } }),
        { auth: t.hub.agentKey.value },
      );
    while (
      t.hub.status.node(3).power.actual !== "on" || t.hub.status.node(4).power.actual !== "on"
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await beat(3);
    await new Promise((r) => setTimeout(r, 150));
    await beat(4);
    const job = await t.hub.jobs.wait(started.id);
    assert.equal(job.state, "succeeded", job.error ?? "");
    const report = job.result as { nodes: { node: number; up: boolean; bootMs: number }[] };
    const n3 = report.nodes.find((n) => n.node === 3)!;
    const n4 = report.nodes.find((n) => n.node === 4)!;
    assert.ok(n3.up && n4.up);
    assert.ok(n4.bootMs >= 140, `node 4 took ${n4.bootMs} ms`);
    assert.ok(n3.bootMs < n4.bootMs);
  }));

Deno.test("bootstrap skips disabled bays and ends degraded when nodes stay silent", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/enabled", { nodes: "17-22,24-29", enabled: false });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.disabled.length, 12);
    const job = await run(t, "/api/v1/bootstrap", {});
    assert.equal(job.state, "failed", "a degraded bootstrap fails the job");
    assert.match(
      job.error ?? "",
      /bootstrap degraded: 0\/48 nodes running; no heartbeat: 1-16,23,30-60/,
    );
    const result = job.result as { stage: string; nodes: number[]; silent: number[] };
    assert.equal(result.stage, "degraded", "no agents run here, so every booted node is silent");
    assert.equal(result.nodes.length, 48);
    assert.ok(!result.nodes.includes(17) && result.nodes.includes(23));
    const nodes = z.array(NodeStatus).parse(await (await t.call("GET", "/api/v1/nodes")).json());
    assert.deepEqual(
      nodes.filter((n) => n.power.actual === "on").map((n) => n.id),
      result.nodes,
    );
    const state = await (await t.call("GET", "/api/v1/bootstrap")).json();
    assert.equal(state.state.stage, "degraded");
  }));

Deno.test("a hub restarted mid-bootstrap says where it stopped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  try {
    const a = await startTestHub({ dataDir: dir, overrides: { timings: FAST } });
    a.hub.store.setSetting("bootstrap", {
      stage: "self_test",
      jobId: "bootstrap-x",
      startedAt: 1,
      nodes: [1, 2],
      failedSelfTest: [],
      silent: [],
      stageAt: 1,
    });
    await a.close();
    const b = await startTestHub({ dataDir: dir, overrides: { timings: FAST } });
    try {
      const fault = b.hub.events.latest(20).find((e) => e.type === "fault");
      assert.match(fault?.message ?? "", /interrupted in stage self_test/);
      const state = await (await b.call("GET", "/api/v1/bootstrap")).json();
      assert.equal(state.state.stage, "failed");
    } finally {
      await b.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("power commands for nodes a run is driving are refused with 409, others go", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/activetest", { nodes: "1-3", timeoutMs: 300 });
    assert.equal(res.status, 202);
    const busy = await t.call("POST", "/api/v1/nodes/2/power", { state: "off" });
    assert.equal(busy.status, 409);
    assert.match((await busy.json()).error.message, /node 2 is being driven by activetest job/);
    const free = await t.call("POST", "/api/v1/nodes/4/power", { state: "on" });
    assert.equal(free.status, 200);
    await t.hub.jobs.wait((await res.json()).id);
    const after = await t.call("POST", "/api/v1/nodes/2/power", { state: "off" });
    assert.equal(after.status, 200, "released when the run ends");
  }));

Deno.test("a bootstrap that fails early reports no node running", () =>
  withHub(async (t, sim) => {
    sim.stuck.add(3);
    await t.hub.jobs.wait(t.hub.powerControl.power([3], "on").id).catch(() => {});
    sim.stuck.clear();
    await t.hub.jobs.wait(t.hub.powerControl.power([3], "on").id);
    sim.stuck.add(3); // stuck on: "all nodes off" fails, so the bootstrap fails
    const job = await run(t, "/api/v1/bootstrap", { nodes: "1-4" });
    assert.equal(job.state, "failed");
    assert.match(job.error ?? "", /bootstrap failed: 0\/4 nodes running/);
  }));

Deno.test("cancel: a self test stops switching on and switches off what it switched on", async () => {
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 0 });
  const slow = { ...FAST, selfTest: { stepMs: 20, holdMs: 10 } };
  const t = await startTestHub({
    overrides: { power: sim, timings: slow, sequencer: { stepMs: 1 } },
  });
  try {
    const on = new Set<number>();
    sim.onRailChange = (node, state) => state === "on" ? on.add(node) : on.delete(node);
    const started = Job.parse(await (await t.call("POST", "/api/v1/testall", {})).json());
    while (on.size < 5) await new Promise((r) => setTimeout(r, 5));
    const res = await t.call("POST", `/api/v1/jobs/${started.id}/cancel`);
    assert.equal(res.status, 202);
    const job = await t.hub.jobs.wait(started.id);
    assert.equal(job.state, "failed");
    assert.equal(job.errorCode, "cancelled");
    assert.match(job.error ?? "", /self test was cancelled/);
    assert.equal(on.size, 0, "every rail it switched on is off again");
    const report = job.result as SelfTestReport;
    assert.ok(report.nodes.filter((n) => n.on.ok).length < 60, "it stopped early");
    // It says it was cancelled and which nodes it never tested, not "FAILED: 39 of 60".
    assert.equal(report.cancelled, true);
    assert.ok(report.untested.length > 0 && report.untested.includes(60), "untested nodes listed");
    assert.doesNotMatch(report.summary, /FAILED/);
    assert.match(report.summary, /^self test cancelled: \d+ of 60 nodes tested, .*untested: \d+/);
    assert.match(job.error ?? "", /\d+ of 60 nodes tested, untested: \d+(-\d+)?/);
    assert.ok(report.lines.some((l) => /untested/.test(l)));
    assert.ok(!report.lines.some((l) => /not run/.test(l)), "untested nodes are not failures");
    const again = await t.call("POST", `/api/v1/jobs/${started.id}/cancel`);
    assert.equal(again.status, 409, "a finished job cannot be cancelled");
    assert.equal((await t.call("POST", "/api/v1/jobs/nope/cancel")).status, 404);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("cancel: a bootstrap stops between stages and is stored as failed, not interrupted", () =>
  withHub(async (t) => {
    const slow = t.hub.bootstrap.timings;
    assert.ok(slow.fabricMs >= 1);
    const started = Job.parse(await (await t.call("POST", "/api/v1/bootstrap", {})).json());
    await t.call("POST", `/api/v1/jobs/${started.id}/cancel`);
    const job = await t.hub.jobs.wait(started.id);
    assert.equal(job.errorCode, "cancelled");
    assert.match(job.error ?? "", /bootstrap \(in stage [a-z ]+\) was cancelled/);
    const state = await (await t.call("GET", "/api/v1/bootstrap")).json();
    assert.equal(state.state.stage, "failed");
    const ok = await t.call("POST", "/api/v1/nodes/7/power", { state: "on" });
    assert.equal(ok.status, 200, "its nodes are released");
  }));

Deno.test("bootstrap progress: the fabric stage says what it waits for and counts down", async () => {
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 0 });
  const t = await startTestHub({
    overrides: {
      power: sim,
      // Long enough that three reads 300 ms apart fall in the fabric stage on a loaded machine.
      timings: { ...FAST, fabricMs: 3000 },
      sequencer: { stepMs: 1, cycleOffMs: 1 },
      recovery: false, // no agents here: silent nodes end it at once, unsupervised
    },
  });
  try {
    const started = Job.parse(await (await t.call("POST", "/api/v1/bootstrap", {})).json());
    const seen: Job["progress"][] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.call("GET", `/api/v1/jobs/${started.id}`);
      seen.push(Job.parse(await res.json()).progress);
      await new Promise((r) => setTimeout(r, 300));
    }
    for (const p of seen) {
      assert.equal(p.done, 0);
      assert.equal(p.note, "fabric: waiting for the switch");
    }
    const left = seen.map((p) => p.remainingMs ?? -1);
    assert.ok(left[0] <= 3000 && left[0] > 0, `counts from the stage's length: ${left}`);
    assert.ok(left[2] < left[0] - 300, `and down: ${left}`);
    const job = await t.hub.jobs.wait(started.id);
    assert.equal(job.progress.remainingMs, undefined, "a finished job has nothing left to wait");
    const stored = Job.parse(await (await t.call("GET", `/api/v1/jobs/${started.id}`)).json());
    assert.equal(stored.progress.remainingMs, undefined);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("activetest progress counts down to its timeout while it waits for heartbeats", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/activetest", { nodes: "1-2", timeoutMs: 60_000 });
    const started = Job.parse(await res.json());
    await new Promise((r) => setTimeout(r, 300));
    const p = Job.parse(await (await t.call("GET", `/api/v1/jobs/${started.id}`)).json()).progress;
    assert.equal(p.note, "waiting for heartbeats");
    assert.ok(
      p.remainingMs !== undefined && p.remainingMs <= 59_700 && p.remainingMs > 50_000,
      `${p.remainingMs}`,
    );
    await t.call("POST", `/api/v1/jobs/${started.id}/cancel`);
    const job = await t.hub.jobs.wait(started.id);
    assert.equal(job.errorCode, "cancelled");
  }));

/** Every bay's rail, read from the simulated module itself. */
async function rails(sim: SimulatedModule, count = 60): Promise<string[]> {
  return await Promise.all(Array.from({ length: count }, (_, i) => sim.read(i + 1)));
}

Deno.test("a bootstrap of 1-12 leaves every other bay's power exactly as it was", () =>
  withHub(async (t, sim) => {
    const all = Array.from({ length: 60 }, (_, i) => i + 1);
    const on = await t.hub.jobs.wait(t.hub.powerControl.power(all, "on").id);
    assert.equal(on.state, "succeeded", on.error ?? "");
    await t.hub.jobs.wait(t.hub.powerControl.power([40, 41], "off").id);
    const before = await rails(sim);
    const switched = new Set<number>();
    sim.onRailChange = (node) => switched.add(node);
    const job = await run(t, "/api/v1/bootstrap", { nodes: "1-12" });
    assert.equal(job.error ?? "", "bootstrap degraded: 0/12 nodes running; no heartbeat: 1-12");
    const after = await rails(sim);
    assert.deepEqual(after.slice(12), before.slice(12), "bays 13-60 keep their power");
    assert.deepEqual(
      [...switched].sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.ok(after.slice(0, 12).every((r) => r === "on"), "the set was booted");
    const off = t.hub.events.latest(200).find((e) => /control plane: switching/.test(e.message));
    assert.match(off?.message ?? "", /switching 1-12 off \(48 other bays untouched\)/);
  }));

Deno.test("a bootstrap with othersOff switches every other bay off, and the plan says so first", () =>
  withHub(async (t, sim) => {
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    await t.hub.jobs.wait(t.hub.powerControl.power(ids, "on").id);
    const planRes = await t.call("POST", "/api/v1/bootstrap/plan", { nodes: "1-4" });
    assert.equal(planRes.status, 200);
    const plan = await planRes.json();
    assert.deepEqual(plan.switchedOff, [1, 2, 3, 4]);
    assert.equal(plan.untouched.length, 56);
    const all = await (await t.call("POST", "/api/v1/bootstrap/plan", {
      nodes: "1-4",
      othersOff: true,
    })).json();
    assert.equal(all.switchedOff.length, 60);
    assert.deepEqual(all.untouched, []);
    assert.deepEqual(await rails(sim), Array(60).fill("on"), "a plan switches nothing");
    await run(t, "/api/v1/bootstrap", { nodes: "1-4", othersOff: true });
    const after = await rails(sim);
    assert.deepEqual(after.slice(0, 4), ["on", "on", "on", "on"]);
    assert.ok(after.slice(4).every((r) => r === "off"));
  }));
