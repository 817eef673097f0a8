/**
 * The "done when": on the simulated module with injected boot faults, a bootstrap
 * recovers the transient bay by power cycle and quarantines the others at the stage where
 * they stopped (no lease → dhcp_ack; lease but no heartbeat → heartbeat). It shows in the
 * job, REST (`/nodes/:id/boot`, `/nodes`), the events and `cm`; bulk runs then skip the
 * quarantined bays until `cm node clear N`.
 */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { VirtualCluster, virtualNodeForMac } from "../../hub/virtual/virtual_cluster.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import { realClock } from "../../shared/clock.ts";
import { NodeBoot } from "../../shared/boot_schemas.ts";
import { type ClusterEvent, Job, NodeStatus } from "../../shared/schemas.ts";
import { serveTestHub } from "../support/test_hub.ts";
import { runCm } from "../support/cm.ts";

function cm(url: string, token: string, args: string[]) {
  return runCm(["--hub", url, "--token", token, ...args]);
}

Deno.test("bootstrap recovers a transient boot fault and quarantines the others at their stage", async () => {
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 1 });
  const t = await serveTestHub({
    settings: { lostAfterMs: 2000, heartbeatIntervalMs: 100 },
    overrides: {
      power: sim,
      timings: scaleTimings(VENDOR_TIMINGS, 0.002),
      sequencer: { stepMs: 2, cycleOffMs: 10 },
      // Virtual boot: DHCP at 160 ms, ACK at 200 ms, TFTP to 400 ms, agent at 800 ms. A boot
      // counts (for the transient fault) once DHCP is reached: the self test's pulses (a few ms;
      // 60 ms was reached under a heavily loaded machine, twice) stay well short of that.
      bootTimeouts: {
        dhcp_discover: 1200,
        dhcp_ack: 1400,
        tftp: 1600,
        heartbeat: 2400,
        running: 3200,
      },
      recovery: { retries: 2, backoffMs: 20 },
      nodeForMac: virtualNodeForMac,
      netbootObserved: true,
    },
  });
  const vc = new VirtualCluster({
    sim,
    map: t.hub.map,
    hubUrl: t.url,
    agentKeyFor: (n) => t.hub.agentKeys.keyFor(n),
    bootDelayMs: 800,
    intervalMs: 100,
    onLogLine: (l) => t.hub.boot.ingestLine(l),
    faults: new Map([
      [2, { kind: "no_lease" }],
      [3, { kind: "no_heartbeat" }],
      [4, { kind: "no_lease", boots: 1 }], // transient: only the first boot fails
    ]),
  });
  vc.attach();
  const events: ClusterEvent[] = [];
  const unsubscribe = t.hub.events.subscribe((e) => events.push(e));
  const token = t.hub.token.value;
  try {
    const res = await t.call("POST", "/api/v1/bootstrap", { nodes: "1-4,23" });
    assert.equal(res.status, 202);
    const job = await t.hub.jobs.wait((await res.json()).id);
    assert.equal(job.state, "failed", "quarantined nodes make the bootstrap degraded");
    const result = job.result as {
      stage: string;
      recovery: {
        node: number;
        outcome: string;
        attempts: number;
        stage?: string;
        jobs: string[];
      }[];
    };
    assert.equal(result.stage, "degraded");
    const by = new Map(result.recovery.map((r) => [r.node, r]));
    assert.deepEqual(
      [1, 2, 3, 4, 23].map((n) => [n, by.get(n)?.outcome, by.get(n)?.attempts, by.get(n)?.stage]),
      [
        [1, "running", 1, undefined],
        [2, "quarantined", 3, "dhcp_ack"],
        [3, "quarantined", 3, "heartbeat"],
        [4, "running", 2, undefined],
        [23, "running", 1, undefined], // a Zero W bay: no netboot, heartbeat only
      ],
    );
    assert.match(job.error ?? "", /recovered by power cycle: 4/);
    assert.match(job.error ?? "", /quarantined: 2 \(dhcp_ack\), 3 \(heartbeat\)/);

    // Each recovery cycle is a power job of its own.
    const cycles = t.hub.jobs.list().filter((j) => j.summary.startsWith("boot recovery"));
    assert.equal(cycles.length, 2 + 2 + 1);
    assert.ok(cycles.every((j) => j.kind === "power" && j.state === "succeeded"));
    assert.deepEqual(
      by.get(4)?.jobs,
      cycles.filter((j) => /node 4 /.test(j.summary)).map((j) => j.id),
    );

    // REST: the node is `fault` and names the stage; its boot shows the latest two timelines.
    const n3 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/3")).json());
    assert.equal(n3.lifecycle, "fault");
    assert.equal(n3.quarantine?.stage, "heartbeat");
    const boot3 = NodeBoot.parse(await (await t.call("GET", "/api/v1/nodes/3/boot")).json());
    assert.equal(boot3.latest?.attempt, 3);
    assert.equal(boot3.latest?.state, "stalled");
    assert.equal(boot3.latest?.stalledAt, "heartbeat");
    assert.equal(boot3.previous?.attempt, 2);
    assert.deepEqual(
      boot3.latest?.stages.map((s) => s.stage),
      ["power_on", "dhcp_discover", "dhcp_request", "dhcp_ack", "tftp"],
    );
    assert.deepEqual(boot3.latest?.tftp.map((f) => f.file).slice(0, 2), [
      "bootcode.bin",
      "start.elf",
    ]);
    const boot4 = NodeBoot.parse(await (await t.call("GET", "/api/v1/nodes/4/boot")).json());
    assert.equal(boot4.latest?.state, "running");
    assert.equal(boot4.previous?.stalledAt, "dhcp_ack");
    assert.deepEqual(
      boot4.latest?.stages.map((s) => [s.stage, s.inferred]),
      [
        ["power_on", false],
        ["dhcp_discover", false],
        ["dhcp_request", false],
        ["dhcp_ack", false],
        ["tftp", false],
        ["nfs_root", true],
        ["heartbeat", false],
        ["running", false],
      ],
    );
    const times = boot4.latest!.stages.map((s) => s.at);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "stages in time order");

    // Events: every stage, each timeout, each recovery and the quarantines.
    const of = (type: string, node: number) =>
      events.filter((e) => e.type === type && e.node === node);
    assert.equal(of("boot_timeout", 2).length, 3);
    assert.ok(of("boot_timeout", 2).every((e) => e.data.stage === "dhcp_ack"));
    assert.equal(of("boot_recovery", 3).length, 2);
    assert.deepEqual(of("quarantined", 3).map((e) => e.data.stage), ["heartbeat"]);
    assert.equal(of("quarantined", 4).length, 0);
    assert.ok(of("boot_stage", 1).some((e) => e.data.stage === "running"));

    // cm status and cm boot say it too.
    const status = await cm(t.url, token, ["status", "1-4"]);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /quarantined .*: 2 at dhcp_ack, 3 at heartbeat/);
    const cmBoot = await cm(t.url, token, ["boot", "2"]);
    assert.equal(cmBoot.code, 0, cmBoot.err);
    assert.match(cmBoot.out, /QUARANTINED at dhcp_ack/);
    assert.match(cmBoot.out, /latest boot: attempt 3, .* STALLED before dhcp_ack/);
    assert.match(cmBoot.out, /boot before: attempt 2/);
    assert.match(cmBoot.out, /dhcp_discover +DISCOVER 02:42:0a:2a:00:02 no address available/);

    // A bulk run skips the quarantined bays; one named alone is switched.
    const bulk = await t.call("POST", "/api/v1/power", { state: "cycle", nodes: "1-4" });
    const bulkJob = Job.parse(await bulk.json());
    assert.equal(bulkJob.state, "succeeded", bulkJob.error ?? "");
    assert.deepEqual((bulkJob.result as { skipped: number[] }).skipped, [2, 3]);
    assert.match(bulkJob.summary, /skipping quarantined 2-3/);
    const again = await t.call("POST", "/api/v1/bootstrap", { nodes: "2,3" });
    assert.equal(again.status, 409, "a bootstrap of only quarantined bays is refused");
    // So does the active test: it switches the others on and leaves the quarantined ones off.
    const offBefore = [2, 3].map((n) => t.hub.status.node(n).power.actual);
    const active = await t.call("POST", "/api/v1/activetest", { nodes: "2-4" });
    let activeJob = Job.parse(await active.json());
    assert.equal(activeJob.summary, "4 (skipping quarantined 2-3)");
    while (activeJob.state === "queued" || activeJob.state === "running") {
      await new Promise((r) => setTimeout(r, 20));
      activeJob = t.hub.jobs.list().find((j) => j.id === activeJob.id)!;
    }
    assert.deepEqual([2, 3].map((n) => t.hub.status.node(n).power.actual), offBefore);
    assert.equal(
      (await t.call("POST", "/api/v1/activetest", { nodes: "2,3" })).status,
      409,
      "an active test of only quarantined bays is refused",
    );

    // cm node clear takes one back.
    const clear = await cm(t.url, token, ["node", "clear", "2"]);
    assert.equal(clear.code, 0, clear.err);
    assert.match(clear.out, /node 2 cleared from quarantine/);
    assert.equal(t.hub.status.node(2).quarantine, null);
    assert.notEqual(t.hub.status.node(2).lifecycle, "fault");
    const twice = await cm(t.url, token, ["node", "clear", "2"]);
    assert.equal(twice.code, 1);
    assert.match(twice.err, /node 2 is not quarantined/);
  } finally {
    unsubscribe();
    await vc.close();
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
