/** The bootstrap state machine (pure) and its timeline. */
import assert from "node:assert/strict";
import {
  advance,
  bootstrapScope,
  expectedTimeline,
  initialBootstrap,
  isFinal,
  nodesToBoot,
  scaleTimings,
  VENDOR_TIMINGS,
} from "../../hub/cluster/runs/bootstrap.ts";

const NODES = [1, 2, 3, 4, 5];

Deno.test("a clean bootstrap walks every stage to running", () => {
  let s = initialBootstrap(NODES, "job-1", 0);
  assert.equal(s.stage, "fabric");
  s = advance(s, { stage: "fabric", ok: true }, 30_000);
  assert.equal(s.stage, "control_plane");
  assert.equal(s.stageAt, 30_000);
  s = advance(s, { stage: "control_plane", ok: true }, 40_000);
  s = advance(s, { stage: "self_test", failedNodes: [] }, 70_000);
  assert.equal(s.stage, "boot");
  assert.deepEqual(nodesToBoot(s), NODES);
  s = advance(s, { stage: "boot", ok: true }, 80_000);
  s = advance(s, { stage: "wait_heartbeats", silentNodes: [] }, 150_000);
  assert.equal(s.stage, "running");
  assert.ok(isFinal(s.stage));
  assert.equal(s.startedAt, 0);
});

Deno.test("self-test failures are not booted and make the end state degraded", () => {
  let s = initialBootstrap(NODES, null, 0);
  s = advance(s, { stage: "fabric", ok: true }, 1);
  s = advance(s, { stage: "control_plane", ok: true }, 2);
  s = advance(s, { stage: "self_test", failedNodes: [2, 4] }, 3);
  assert.deepEqual(nodesToBoot(s), [1, 3, 5]);
  s = advance(s, { stage: "boot", ok: true }, 4);
  s = advance(s, { stage: "wait_heartbeats", silentNodes: [] }, 5);
  assert.equal(s.stage, "degraded");
  assert.deepEqual(s.failedSelfTest, [2, 4]);
});

Deno.test("silent nodes make it degraded; every node failing the self test makes it failed", () => {
  let s = initialBootstrap(NODES, null, 0);
  s = advance(s, { stage: "fabric", ok: true }, 1);
  s = advance(s, { stage: "control_plane", ok: true }, 2);
  const allFail = advance(s, { stage: "self_test", failedNodes: NODES }, 3);
  assert.equal(allFail.stage, "failed");
  s = advance(s, { stage: "self_test", failedNodes: [] }, 3);
  s = advance(s, { stage: "boot", ok: true }, 4);
  s = advance(s, { stage: "wait_heartbeats", silentNodes: [5] }, 5);
  assert.equal(s.stage, "degraded");
  assert.deepEqual(s.silent, [5]);
  const badCp = advance(
    advance(initialBootstrap(NODES, null, 0), { stage: "fabric", ok: true }, 1),
    { stage: "control_plane", ok: false },
    2,
  );
  assert.equal(badCp.stage, "failed");
});

Deno.test("an outcome for the wrong stage is refused", () => {
  const s = initialBootstrap(NODES, null, 0);
  assert.throws(() => advance(s, { stage: "boot", ok: true }, 1), /in fabric, not boot/);
});

Deno.test("the vendor timeline: all off at 30 s, test at 40 s, running within ~2:30", () => {
  const t = expectedTimeline(VENDOR_TIMINGS, 60);
  const at = Object.fromEntries(t.map((x) => [x.stage, x.atMs]));
  assert.equal(at.control_plane, 30_000);
  assert.equal(at.self_test, 40_000);
  // Self test of 60 nodes: 2 × 59 steps of 200 ms + 2 s hold = 25.6 s (the vendor's "about 30 s").
  assert.equal(at.boot, 40_000 + 25_600 + 10_000);
  // Nodes take ~30 s to boot after power-on: running at boot + ~30–60 s, i.e. about 2:00–2:30.
  assert.ok(at.boot + 30_000 <= 150_000);
  const fast = scaleTimings(VENDOR_TIMINGS, 0.01);
  assert.equal(fast.fabricMs, 300);
  assert.equal(fast.selfTest.stepMs, 2);
  assert.equal(scaleTimings(VENDOR_TIMINGS, 0.000001).selfTest.stepMs, 1, "never below 1 ms");
});

Deno.test("bootstrapScope: a set switches only itself; othersOff every bay but quarantined ones", () => {
  const all = [1, 2, 3, 4, 5, 6];
  assert.deepEqual(bootstrapScope(all, [2, 3], [4], false), {
    nodes: [2, 3],
    switchedOff: [2, 3],
    untouched: [1, 4, 5, 6],
    skippedQuarantined: [4],
    othersOff: false,
  });
  const wide = bootstrapScope(all, [2, 3], [4], true);
  assert.deepEqual(wide.switchedOff, [1, 2, 3, 5, 6]);
  assert.deepEqual(wide.untouched, [4], "a quarantined bay is never switched");
  assert.deepEqual(bootstrapScope(all, [2, 3], [], true, [6]).untouched, [6], "nor one outside");
});
