/**
 * Connection lockout: 1000 kept-alive idle connections from 127.0.0.2-5 fill the
 * hub process's cap. The owner's `/health` with the token and the agents' heartbeats are still
 * served (idle connections are shed first; reserved slots for the token and heartbeats).
 */
import assert from "node:assert/strict";
import { HubProcess } from "../support/hub_process.ts";
import { endFlood, idleFlood } from "../support/flood.ts";
import { sampleHeartbeat } from "../support/samples.ts";

Deno.test("connection flood: 1000 idle connections from 4 addresses; /health with the token and heartbeats are still served", async () => {
  const dir = await Deno.makeTempDir({ prefix: `conn-flood-${Deno.pid}-` });
  const hub = await HubProcess.start(dir);
  const cap = Number(hub.output.match(/at most (\d+) connections/)?.[1]);
  // Node 9 is on and reports with its own key (a heartbeat for a bay that is off is refused).
  const on = await hub.fetch("/api/v1/nodes/9/power", {
    method: "POST",
    body: JSON.stringify({ state: "on" }),
  });
  assert.equal(on.status, 200, await on.clone().text());
  await on.body?.cancel();
  const { key } = await (await hub.fetch("/api/v1/nodes/9/agent-key")).json();
  assert.ok(cap > 0, hub.output);
  const flood = await idleFlood(
    hub.port,
    ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"],
    Math.ceil(cap / 4),
  );
  try {
    assert.ok(flood.length >= cap - 4, `${flood.length} flood connections open (cap ${cap})`);
    await new Promise((r) => setTimeout(r, 800)); // they are idle now
    for (let i = 0; i < 10; i++) {
      using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const health = await fetch(`${hub.url}/api/v1/health`, {
        headers: { authorization: "Bearer T" },
        client,
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(health.status, 200, `health ${i}: ${await health.clone().text()}`);
      await health.body?.cancel();
      const beat = await fetch(`${hub.url}/api/v1/agent/heartbeat`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(sampleHeartbeat(9, { seq: i + 1 })),
        client,
        signal: AbortSignal.timeout(5000),
      });
      assert.ok(beat.ok, `heartbeat ${i}: ${beat.status} ${await beat.clone().text()}`);
      await beat.body?.cancel();
    }
    const metrics = await (await hub.fetch("/metrics")).text();
    const shed = Number(
      metrics.match(
        /^cluster_connections_closed_total\{module="[^"]*",reason="shed_idle"\} (\d+)$/m,
      )?.[1],
    );
    assert.ok(shed >= 1, "idle flood connections were shed to make room");
    assert.ok(hub.alive());
  } finally {
    endFlood(flood);
    assert.equal(await hub.stop(), 0, hub.output);
    await Deno.remove(dir, { recursive: true });
  }
});
