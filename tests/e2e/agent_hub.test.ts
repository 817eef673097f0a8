/**
 * A real node agent against a real hub on loopback: it shows up running, its LED follows its
 * model's pattern, a stopped hub turns the LED to `fault`, and a restarted hub is found again
 * without restarting the agent.
 */
import assert from "node:assert/strict";
import { startAgent } from "../../node-agent/agent.ts";
import { silentLogger } from "../../node-agent/log.ts";
import { realClock } from "../../shared/clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";
import { createHub } from "../../hub/hub.ts";
import { testSettings } from "../support/test_hub.ts";

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

function serve(
  app: { fetch: (r: Request, i: Deno.ServeHandlerInfo) => Response | Promise<Response> },
  port = 0,
) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    app.fetch,
  );
  return { port: server.addr.port, stop: async () => (ac.abort(), await server.finished) };
}

Deno.test("agent: running within 2 s, LED pattern per model, fault while the hub is down, recovery", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-e2e-" });
  // Node 17's own key; the shared one is refused.
  const settings = testSettings(dataDir, { heartbeatIntervalMs: 200, sharedAgentKey: false });
  let hub = createHub(settings);
  await hub.start();
  let server = serve(hub.app);
  const port = server.port;
  await hub.jobs.wait(hub.powerControl.power([17], "on").id); // bay 17: a Pi Zero W bay
  const line = new SimulatedGpioLine({ gpio: 21, direction: "out", clock: realClock });
  const started = Date.now();
  const agent = await startAgent({
    hub: `http://127.0.0.1:${port}`,
    key: hub.agentKeys.keyFor(17),
    line,
    node: 17,
    model: "pi0w",
    hostname: "node17",
    root: "/nonexistent",
    intervalMs: 200,
    timeoutMs: 300,
    faultAfterMs: 1000,
    logger: silentLogger,
  });
  try {
    await until("node 17 running", () => hub.status.node(17).lifecycle === "running", 2000);
    assert.ok(Date.now() - started < 2000);
    assert.equal(hub.status.node(17).agent?.identity.model, "pi0w");

    // Zero W heartbeat is inverted: off 900 ms, on 100 ms. Look at whole periods of the log.
    await until("two LED periods", () => line.edges.length >= 5, 4000);
    const rising = line.edges.filter((e) => e.value === 1);
    const falling = line.edges.filter((e) => e.value === 0 && e.at > rising[0].at);
    const onTime = falling[0].at - rising[0].at;
    assert.ok(onTime > 50 && onTime < 250, `Zero W LED on for ${onTime} ms (expected ~100)`);
    const period = rising[1].at - rising[0].at;
    assert.ok(period > 900 && period < 1100, `period ${period} ms`);

    // Stop the hub: the LED turns to fault, the agent keeps running.
    await server.stop();
    await hub.close();
    await until("fault LED", () => agent.ledMode === "fault", 5000);
    assert.ok(agent.faulted);

    // Start a new hub process on the same port and data: the agent finds it again.
    hub = createHub(settings);
    await hub.start();
    server = serve(hub.app, port);
    await until("recovered", () => !agent.faulted && agent.ledMode === "heartbeat", 5000);
    await until("node 17 running again", () => hub.status.node(17).lifecycle === "running", 3000);

    // A hub request travels back in the heartbeat reply.
    hub.nodeSettings.setLed(17, "identify");
    await until("identify LED", () => agent.ledMode === "identify", 3000);
  } finally {
    await agent.stop();
    await server.stop();
    await hub.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.equal(line.released, true, "the line is released on stop");
});
