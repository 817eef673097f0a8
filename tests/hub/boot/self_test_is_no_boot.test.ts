/**
 * The self test holds each rail on to check it; that is no boot. Boot supervision must not
 * start a timeline (nor time it out, nor count it as an attempt) for a self-test pulse, even
 * when the hold is longer than the first boot deadline (as under `--time-scale`).
 */
import assert from "node:assert/strict";
import { scaleTimings, VENDOR_TIMINGS } from "../../../hub/cluster/runs/bootstrap.ts";
import { serveTestHub } from "../../support/test_hub.ts";

Deno.test("a self test's rail pulses start no boot timeline and no boot timeout", async () => {
  const t = await serveTestHub({
    overrides: {
      timings: { ...scaleTimings(VENDOR_TIMINGS, 0.001), selfTest: { stepMs: 5, holdMs: 150 } },
      bootTimeouts: { dhcp_discover: 40, dhcp_ack: 50, tftp: 60, heartbeat: 70, running: 80 },
      netbootObserved: true,
    },
  });
  try {
    const res = await t.call("POST", "/api/v1/testall", { nodes: "1-3" });
    let job = await res.json();
    while (job.state === "queued" || job.state === "running") {
      await new Promise((r) => setTimeout(r, 20));
      job = t.hub.jobs.list().find((j) => j.id === job.id)!;
    }
    assert.equal(job.state, "succeeded", job.error ?? "");
    await new Promise((r) => setTimeout(r, 150)); // past every boot deadline
    const events = t.hub.events.latest(1000);
    const pulses = events.filter((e) => e.type === "power_changed" && e.data.to === "on");
    assert.equal(pulses.length, 3, "the self test switched each rail on");
    assert.ok(pulses.every((e) => e.data.selfTest === true), "and said it was the self test");
    const boot = events.filter((e) => e.type.startsWith("boot_"));
    assert.deepEqual(boot.map((e) => `${e.type} ${e.node}`), []);
    for (const n of [1, 2, 3]) assert.equal(t.hub.boot.timelines(n).latest, null);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
