/** The benchmarks' shared harness (bench/lib/): /proc sampling, child processes, LED edges. */
import assert from "node:assert/strict";
import {
  cpuTicks,
  fdCount,
  processTree,
  rssMiB,
  statusKiB,
  treeCpuTicks,
  treeRssKiB,
} from "../../bench/lib/proc.ts";
import { Child } from "../../bench/lib/process.ts";
import { watchValue } from "../../bench/lib/edges.ts";
import { heartbeatJson } from "../../bench/lib/heartbeat.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("proc: a busy process tree's members, CPU and RSS; a gone process throws", async () => {
  // A shell whose child burns CPU until killed.
  const c = new Child("tree", "sh", ["-c", "sh -c 'while :; do :; done' & echo started; wait"]);
  try {
    await c.line(/^started$/, 10_000);
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 2; i++) {
      tree = processTree(c.pid);
      await sleep(20);
    }
    assert.equal(tree[0], c.pid);
    assert.ok(tree.length >= 2, `the busy child is in the tree: ${tree}`);
    const t0 = treeCpuTicks(c.pid);
    const busy0 = cpuTicks(tree[1]);
    // On a loaded machine the busy child may wait its turn: up to 10 s.
    for (let i = 0; i < 100 && cpuTicks(tree[1]) <= busy0; i++) await sleep(100);
    assert.ok(cpuTicks(tree[1]) > busy0, "the busy child's utime grows");
    assert.ok(treeCpuTicks(c.pid) > t0);
    assert.ok(rssMiB(c.pid) > 0);
    assert.ok(treeRssKiB(c.pid) > statusKiB(c.pid, "VmRSS"), "the tree adds its child's RSS");
    assert.ok(fdCount(Deno.pid) >= 3);
  } finally {
    for (const pid of processTree(c.pid).reverse()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await c.status;
  }
  assert.throws(() => statusKiB(c.pid, "VmRSS"));
  assert.throws(() => cpuTicks(c.pid));
});

Deno.test("process: lines are waited for with a bound, stdin lines reach the child", async () => {
  const c = new Child("echo", "sh", ["-c", "echo one; read x; echo got $x; read y"], {
    stdin: true,
  });
  assert.equal((await c.line(/^one$/, 10_000)).i, 0);
  await assert.rejects(c.line(/^never$/, 100), /no line matching/);
  await c.send("hi");
  assert.equal((await c.line(/^got (.*)$/, 10_000)).m[1], "hi");
  await c.stop(5000); // closing stdin ends `read y`
  assert.equal((await c.status).code, 1);
  await assert.rejects(c.line(/^never$/, 1000), /exited before printing/);
});

Deno.test("process: stop escalates to SIGKILL for a child that ignores SIGTERM", async () => {
  const c = new Child("stubborn", "sh", ["-c", "trap '' TERM; echo ready; exec sleep 30"], {
    stdin: true,
  });
  await c.line(/^ready$/, 10_000);
  const t0 = performance.now();
  await c.stop(100);
  const s = await c.status;
  assert.equal(s.signal, "SIGKILL");
  assert.ok(performance.now() - t0 < 10_000);
});

Deno.test("edges: a value file's level changes, each with its time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-lib-edges-" });
  try {
    const file = `${dir}/value`;
    await Deno.writeTextFile(file, "0\n");
    const w = watchValue(dir, file, "0");
    await sleep(50);
    for (const v of ["1", "1", "0", "1"]) {
      await Deno.writeTextFile(file, `${v}\n`);
      await sleep(60);
    }
    await w.stop();
    assert.deepEqual(w.edges.map((e) => e.value), [1, 0, 1]);
    assert.ok(w.edges[0].at < w.edges[1].at && w.edges[1].at < w.edges[2].at);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("heartbeat: a valid heartbeat of the bay, unknown bays refused", () => {
  const hb = JSON.parse(heartbeatJson(17, { seq: 3, uptimeSeconds: 5 }));
  assert.equal(hb.identity.node, 17);
  assert.equal(hb.identity.hostname, "node17");
  assert.equal(hb.identity.model, "pi0w");
  assert.throws(() => heartbeatJson(61, { seq: 1, uptimeSeconds: 1 }), /no bay 61/);
});
