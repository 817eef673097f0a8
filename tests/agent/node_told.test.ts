/** An agent without a configured node id says once which node the hub called it, not per beat. */
import assert from "node:assert/strict";
import { startAgent } from "../../node-agent/agent.ts";
import { MemoryLogger } from "../../node-agent/log.ts";
import { realClock } from "../../shared/clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";

Deno.test("agent: 'hub says this is node N' is logged once, and again only when N changes", async () => {
  let node = 7;
  let beats = 0;
  const fakeFetch = (() => {
    beats++;
    return Promise.resolve(Response.json({ node, led: null, intervalMs: 100 }));
  }) as typeof fetch;
  const logger = new MemoryLogger();
  const agent = await startAgent({
    hub: "http://127.0.0.1:9",
    key: "k",
    line: new SimulatedGpioLine({ gpio: 21, direction: "out", clock: realClock }),
    model: "pi3b+",
    hostname: "not-a-node-name",
    root: "/nonexistent",
    intervalMs: 100,
    fetch: fakeFetch,
    logger,
  });
  try {
    while (beats < 5) await realClock.sleep(20);
    node = 8;
    const seen = beats;
    while (beats < seen + 3) await realClock.sleep(20);
  } finally {
    await agent.stop();
  }
  const told = logger.lines.filter((l) => l.includes("hub says this is node"));
  assert.deepEqual(told, ["info: hub says this is node 7", "info: hub says this is node 8"]);
});
