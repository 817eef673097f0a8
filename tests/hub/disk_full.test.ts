/**
 * A full disk under the hub process (its data directory on a small tmpfs, filled to the last
 * byte while a power cycle of 1-60 runs): the job ends and is answered, the hub stays up,
 * /health says the store is degraded, changes get `507 insufficient_storage` naming the data
 * directory, agents' heartbeats are still taken, and everything recovers when space returns.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HubProcess } from "../support/hub_process.ts";
import { SmallDisk } from "../support/small_disk.ts";
import { sampleHeartbeat } from "../support/samples.ts";

Deno.test("disk full: a cycle of 1-60 with the disk filling up leaves the hub up, degraded, refusing changes with 507; space back, all works", async () => {
  const disk = await SmallDisk.mount(16);
  const dataDir = join(disk.dir, "data");
  const hub = await HubProcess.start(dataDir);
  try {
    let res = await hub.fetch("/api/v1/health");
    const healthy = await res.json();
    assert.equal(healthy.status, "ok");
    assert.deepEqual(healthy.store, { state: "ok", dataDir });

    res = await hub.fetch("/api/v1/power?wait=false", {
      method: "POST",
      body: JSON.stringify({ state: "cycle", nodes: "1-60" }),
    });
    assert.equal(res.status, 202);
    const job = await res.json();
    await disk.fill();

    // The job ends (answered from memory while it cannot be stored) and the hub lives on.
    let state = "running";
    for (let i = 0; i < 600 && state === "running"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await hub.fetch(`/api/v1/jobs/${job.id}`);
      assert.equal(res.status, 200, await res.clone().text());
      state = (await res.json()).state;
    }
    assert.notEqual(state, "running", "the job ended");
    assert.ok(hub.alive(), `the hub is up:\n${hub.output}`);

    res = await hub.fetch("/api/v1/health");
    const degraded = await res.json();
    assert.equal(res.status, 200);
    assert.equal(degraded.status, "degraded");
    assert.equal(degraded.store.state, "degraded");
    assert.equal(degraded.store.dataDir, dataDir);

    res = await hub.fetch("/api/v1/nodes/7/led", {
      method: "POST",
      body: JSON.stringify({ mode: "identify" }),
    });
    assert.equal(res.status, 507);
    const refused = await res.json();
    assert.equal(refused.error.code, "insufficient_storage");
    assert.ok(refused.error.message.includes(dataDir), refused.error.message);
    res = await hub.fetch("/api/v1/power", {
      method: "POST",
      body: JSON.stringify({ state: "on", nodes: "1" }),
    });
    assert.equal(res.status, 507);
    await res.body?.cancel();

    // Reads and the agents go on.
    res = await hub.fetch("/api/v1/nodes");
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await fetch(`${hub.url}/api/v1/agent/heartbeat`, {
      method: "POST",
      headers: { authorization: "Bearer K", "content-type": "application/json" },
      body: JSON.stringify(sampleHeartbeat(9)),
    });
    assert.ok(res.ok, `heartbeat: ${res.status} ${await res.clone().text()}`);
    await res.body?.cancel();
    res = await hub.fetch("/metrics");
    const metrics = await res.text();
    assert.match(metrics, /^cluster_store_degraded\{module="[^"]*"\} 1$/m);
    assert.match(
      metrics,
      /^cluster_unexpected_faults_total\{module="[^"]*",kind="rejection"\} 0$/m,
    );

    // Space back: the store notices by itself, changes go through again.
    await disk.free();
    await new Promise((r) => setTimeout(r, 1100));
    res = await hub.fetch("/api/v1/health");
    assert.equal((await res.json()).status, "ok");
    res = await hub.fetch("/api/v1/nodes/7/led", {
      method: "POST",
      body: JSON.stringify({ mode: "identify" }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    res = await hub.fetch(`/api/v1/jobs/${job.id}`);
    assert.notEqual((await res.json()).state, "running");
    assert.ok(hub.alive());
  } finally {
    const code = await hub.stop();
    await disk.unmount();
    assert.equal(code, 0, hub.output);
  }
});

Deno.test("disk full: a hub (re)started on a full disk starts degraded and still restores desired state", async () => {
  const disk = await SmallDisk.mount(16);
  const dataDir = join(disk.dir, "data");
  let hub = await HubProcess.start(dataDir);
  try {
    const res = await hub.fetch("/api/v1/power", {
      method: "POST",
      body: JSON.stringify({ state: "on", nodes: "1-4" }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(await hub.stop(), 0, hub.output);
    await disk.fill();
    // The simulated module starts with every rail off: the hub must switch 1-4 back on, with
    // no room to record the job (a systemd restart loop used to follow: exit 1 at start).
    hub = await HubProcess.start(dataDir);
    const health = await (await hub.fetch("/api/v1/health")).json();
    assert.equal(health.status, "degraded");
    let on = 0;
    for (let i = 0; i < 100 && on < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const nodes = await (await hub.fetch("/api/v1/nodes")).json();
      on = nodes.filter((n: { id: number; power: { actual: string } }) =>
        n.id <= 4 && n.power.actual === "on"
      ).length;
    }
    assert.equal(on, 4, "desired state restored");
    assert.ok(hub.alive());
  } finally {
    const code = await hub.stop();
    await disk.unmount();
    assert.equal(code, 0, hub.output);
  }
});
