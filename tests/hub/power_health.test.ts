/** Power health: throttling flags per bay and BitBar, in REST, /metrics and events. */
import assert from "node:assert/strict";
import { type ClusterEvent, PowerHealthReport } from "../../shared/schemas.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { sampleHealth, sampleHeartbeat } from "../support/samples.ts";

const UNDER_NOW = 0x50005; // under-voltage and throttled, now and since boot
const UNDER_PAST = 0x50000; // only since boot

async function beat(t: TestHub, node: number, throttled: number | null | undefined) {
  const health = sampleHealth(throttled === undefined ? {} : { throttled });
  const res = await t.call("POST", "/api/v1/agent/heartbeat", sampleHeartbeat(node, { health }), {
    auth: t.hub.agentKey.value,
  });
  assert.equal(res.status, 200, await res.clone().text());
}

Deno.test("power health: per bay and per BitBar, events on change, /metrics", async () => {
  const t = await startTestHub();
  const events: ClusterEvent[] = [];
  const off = t.hub.events.subscribe((e) => events.push(e));
  try {
    await t.hub.jobs.wait(t.hub.powerControl.power([13, 14, 15, 20], "on").id);
    await beat(t, 15, 0); // all clear: not news
    await beat(t, 20, undefined); // an agent older than the field: accepted, nothing known
    await beat(t, 13, UNDER_NOW);
    assert.equal(events.filter((e) => e.type === "bus_undervoltage").length, 0, "one bay only");
    await beat(t, 14, UNDER_PAST);
    await beat(t, 14, UNDER_PAST); // unchanged: no new event
    const changed = events.filter((e) => e.type === "throttling_changed");
    assert.deepEqual(changed.map((e) => e.node), [13, 14]);
    assert.equal(
      changed[0].message,
      "node 13 power: under-voltage, throttled now; since boot: under-voltage, throttled",
    );
    const bus = events.filter((e) => e.type === "bus_undervoltage");
    assert.deepEqual(bus.map((e) => e.data), [{ bus: 3, suspect: true, nodes: [13, 14] }]);
    assert.match(bus[0].message, /BitBar 3: .*check this BitBar's power supply/);

    const r = PowerHealthReport.parse(await (await t.call("GET", "/api/v1/power-health")).json());
    assert.deepEqual(r.bays.map((b) => [b.node, b.throttled]), [[13, UNDER_NOW], [14, UNDER_PAST], [
      15,
      0,
    ]]);
    const b3 = r.buses.find((b) => b.bus === 3)!;
    assert.deepEqual(b3, {
      bus: 3,
      reporting: [13, 14, 15],
      underVoltageNow: [13],
      underVoltageSinceBoot: [13, 14],
      suspect: true,
    });
    assert.equal(r.buses.find((b) => b.bus === 4)!.suspect, false);

    const metrics = await (await t.call("GET", "/metrics", undefined, { auth: false })).text();
    assert.match(
      metrics,
      /^cluster_node_throttled\{module="NMEBW9HT",node="13",bus="3",flag="underVoltage"\} 1$/m,
    );
    assert.match(
      metrics,
      /^cluster_node_throttled\{module="NMEBW9HT",node="14",bus="3",flag="underVoltage"\} 0$/m,
    );
    assert.match(
      metrics,
      /^cluster_node_throttled\{module="NMEBW9HT",node="14",bus="3",flag="underVoltageOccurred"\} 1$/m,
    );
    assert.doesNotMatch(metrics, /cluster_node_throttled\{module="NMEBW9HT",node="20"/);
    assert.match(metrics, /^cluster_bus_undervoltage_nodes\{module="NMEBW9HT",bus="3"\} 2$/m);
    assert.match(metrics, /^cluster_bus_undervoltage_nodes\{module="NMEBW9HT",bus="4"\} 0$/m);

    // Node 14 switched off: its flags go with it, and BitBar 3 is no longer suspect.
    await t.hub.jobs.wait(t.hub.powerControl.power([14], "off").id);
    const cleared = events.filter((e) => e.type === "bus_undervoltage").at(-1)!;
    assert.deepEqual(cleared.data, { bus: 3, suspect: false, nodes: [13] });
    const after = PowerHealthReport.parse(
      await (await t.call("GET", "/api/v1/power-health")).json(),
    );
    assert.deepEqual(after.bays.map((b) => b.node), [13, 15]);
  } finally {
    off();
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
