import assert from "node:assert/strict";
import { CountingClock } from "../support/fakes/counting_clock.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";
import type { NodeHealth } from "../../shared/schemas.ts";
import { startAgent } from "../../node-agent/agent.ts";
import { backoffDelay } from "../../node-agent/backoff.ts";
import { MemoryLogger } from "../../node-agent/log.ts";
import { HubError, ReplyMemo, Reporter } from "../../node-agent/reporter.ts";
import { FakeHub } from "./fake_hub.ts";

const FIXTURE = new URL("../fixtures/pi/pi3b+", import.meta.url).pathname;
const HEALTH: NodeHealth = {
  uptimeSeconds: 10,
  load1: 0.1,
  memTotalBytes: 1024,
  memAvailableBytes: 512,
  cpuTempCelsius: 40,
};

/** Runs `fn` with a set-up agent (see {@link setup}), stopping the agent afterwards. */
async function withAgent(
  opts: SetupOptions,
  fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>,
): Promise<void> {
  const s = await setup(opts);
  try {
    await fn(s);
  } finally {
    await s.agent.stop();
  }
}

/** How {@link setup} varies: backoff jitter; `onHealth` sees the time and LED level of each health read. */
interface SetupOptions {
  jitter?: number;
  onHealth?: (at: number, level: number) => void;
}

async function setup(opts: SetupOptions = {}) {
  const clock = new FakeClock(0);
  const hub = new FakeHub(clock);
  const line = new SimulatedGpioLine({ gpio: 21, direction: "out", clock });
  const logger = new MemoryLogger();
  const agent = await startAgent({
    hub: "http://hub.test:4242/",
    key: hub.key,
    clock,
    line,
    root: FIXTURE,
    health: () => {
      opts.onHealth?.(clock.now(), line.value);
      return Promise.resolve(HEALTH);
    },
    fetch: hub.fetch,
    jitter: () => opts.jitter ?? 0,
    logger,
  });
  return { clock, hub, line, agent, logger };
}

/** Level changes in [from, to) as [ms, level] pairs. */
function edgesBetween(line: SimulatedGpioLine, from: number, to: number) {
  return line.edges.filter((e) => e.at >= from && e.at < to).map((e) => [e.at, e.value]);
}

Deno.test("reporter: a valid, authorised heartbeat every second, seq rising", () =>
  withAgent({}, async ({ clock, hub }) => {
    await clock.advance(3_000);
    assert.deepEqual(hub.received.map((r) => [r.at, r.status]), [
      [0, 200],
      [1000, 200],
      [2000, 200],
      [3000, 200],
    ]);
    assert.ok(hub.received.every((r) => r.auth === "Bearer test-key"));
    assert.deepEqual(hub.accepted.map((h) => h.seq), [0, 1, 2, 3]);
    const hb = hub.accepted[0];
    assert.equal(hb.identity.node, 7);
    assert.equal(hb.identity.model, "pi3b+");
    assert.equal(hb.led, "heartbeat");
    assert.deepEqual(hb.health, HEALTH);
  }));

Deno.test("reporter: the interval in the hub's reply wins", () =>
  withAgent({}, async ({ clock, hub }) => {
    hub.intervalMs = 2_500;
    await clock.advance(6_000);
    assert.deepEqual(hub.received.map((r) => r.at), [0, 2500, 5000]);
  }));

Deno.test("reporter: the hub's LED request is shown at once; null means heartbeat", () =>
  withAgent({}, async ({ clock, hub, line, agent }) => {
    hub.led = "identify";
    await clock.advance(1_000); // reply at 1000 asks for identify
    assert.equal(agent.ledMode, "identify");
    assert.equal(agent.hubRequested, "identify");
    await clock.advance(400);
    // The heartbeat's rise at 1000 coincides with the reply; identify runs from there.
    assert.deepEqual(edgesBetween(line, 1000, 1400), [[1000, 1], [1100, 0], [1200, 1], [
      1300,
      0,
    ]]);
    hub.led = null;
    await clock.advance(600);
    assert.equal(agent.ledMode, "heartbeat");
    assert.equal(hub.accepted.at(-1)?.led, "identify", "the heartbeat reports what was shown");
    // A node the hub quarantined (its boot failed) is asked to show the fault pattern.
    hub.led = "fault";
    await clock.advance(1_000);
    assert.equal(agent.ledMode, "fault");
    assert.equal(agent.faulted, false, "asked by the hub, not lost contact");
  }));

Deno.test("backoff: capped exponential with equal jitter", () => {
  const p = { baseMs: 1000, maxMs: 10_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, p, 0)), [
    500,
    1000,
    2000,
    4000,
    5000,
    5000,
    5000,
  ]);
  assert.equal(backoffDelay(3, p, 0.5), 3000);
  assert.equal(backoffDelay(9, p, 0.999999) < 10_000, true);
  assert.equal(backoffDelay(9, p, 7), 10_000, "jitter is clamped to [0, 1]");
});

Deno.test("hub down: retries back off, LED keeps beating, then shows fault after 5 s", () =>
  withAgent({ jitter: 0 }, async ({ clock, hub, line, agent, logger }) => {
    await clock.advance(1_000); // two good heartbeats: at 0 and 1000
    hub.behaviour = "down";
    await clock.advance(4_999);
    // Attempts at 2000 (fail), then +500, +1000, +2000 …
    assert.deepEqual(hub.received.map((r) => r.at), [0, 1000, 2000, 2500, 3500, 5500]);
    assert.equal(agent.faulted, false, "not yet: last success was at 1000");
    // The heartbeat went on regardless: its edges all lie on the original timeline.
    assert.deepEqual(edgesBetween(line, 1000, 6000), [
      [1000, 1],
      [1900, 0],
      [2000, 1],
      [2900, 0],
      [3000, 1],
      [3900, 0],
      [4000, 1],
      [4900, 0],
      [5000, 1],
      [5900, 0],
    ]);
    await clock.advance(1);
    assert.equal(agent.faulted, true);
    assert.equal(agent.ledMode, "fault");
    await clock.advance(999); // one full fault cycle from 6000
    assert.deepEqual(edgesBetween(line, 6000, 7000), [[6000, 1], [6100, 0], [6200, 1], [
      6300,
      0,
    ]]);
    assert.ok(
      logger.lines.some((l) => /heartbeat failed: cannot reach .*Connection refused/.test(l)),
    );
    assert.equal(
      logger.lines.filter((l) => l.includes("heartbeat failed")).length,
      1,
      "the same failure is logged once",
    );
  }));

Deno.test("long intervals from the hub: no fault between heartbeats, fault after 2 × interval + timeout", () =>
  withAgent({ jitter: 0 }, async ({ clock, hub, agent }) => {
    hub.intervalMs = 10_000; // the hub may ask for up to 600 s; the default threshold is 5 s
    await clock.advance(30_000);
    assert.deepEqual(hub.received.map((r) => r.at), [0, 10_000, 20_000, 30_000]);
    // Each heartbeat reports the mode shown just before it: never fault.
    assert.deepEqual(hub.accepted.map((h) => h.led), Array(4).fill("heartbeat"));
    hub.behaviour = "down";
    await clock.advance(21_999); // last good reply at 30 000: threshold 2 × 10 s + 2 s
    assert.equal(agent.faulted, false);
    await clock.advance(1);
    assert.equal(agent.faulted, true);
    assert.equal(agent.ledMode, "fault");
  }));

Deno.test("hub back: fault clears and the hub-requested mode returns", () =>
  withAgent({ jitter: 0 }, async ({ clock, hub, agent, logger }) => {
    hub.led = "on";
    await clock.advance(10);
    assert.equal(agent.ledMode, "on");
    hub.behaviour = "down";
    await clock.advance(6_000);
    assert.equal(agent.ledMode, "fault");
    const attempts = hub.received.length;
    await clock.advance(30_000);
    // Capped backoff: ~5 s apart with jitter 0, not one per second and not ever longer.
    const times = hub.received.slice(attempts - 1).map((r) => r.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps.length >= 5 && gaps.slice(-4).every((g) => g === 5000), `gaps ${gaps}`);
    hub.behaviour = "up";
    await clock.advance(5_000);
    assert.equal(agent.faulted, false);
    assert.equal(agent.ledMode, "on");
    const leds = hub.accepted.map((h) => h.led);
    // Sent at 0 before the hub's first reply; the first one after the outage reports fault.
    assert.deepEqual(leds.slice(0, 2), ["heartbeat", "fault"]);
    assert.equal(leds.at(-1), "on");
    assert.ok(logger.lines.some((l) => /hub answers again after \d+ failed/.test(l)));
  }));

Deno.test("slow hub: requests time out, nothing piles up, LED unaffected", () =>
  withAgent({ jitter: 0 }, async ({ clock, hub, line, agent }) => {
    hub.behaviour = "hang";
    await clock.advance(20_000);
    // One request in flight at a time: each waits 2 s for its timeout, then backs off.
    const times = hub.received.filter((r) => r.status === 0).map((r) => r.at);
    assert.ok(times.length >= 4);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 2_000);
    assert.ok(times.length <= 8, `${times.length} attempts in 20 s`);
    assert.equal(agent.ledMode, "fault");
    assert.ok(line.edges.length > 20, "the LED kept changing");
  }));

Deno.test("hub errors: 500 and 401 are failures with clear messages, never crashes", () =>
  withAgent({ jitter: 0 }, async ({ clock, hub, agent, logger }) => {
    hub.behaviour = "error500";
    await clock.advance(1_000);
    assert.ok(logger.lines.some((l) => l.includes("hub answered 500: database is locked")));
    hub.behaviour = "up";
    (hub as { key: string }).key = "rotated";
    await clock.advance(2_000);
    assert.ok(
      logger.lines.some((l) =>
        l.includes("hub answered 401: missing or wrong agent key (check the agent key)")
      ),
    );
    assert.equal(agent.hubRequested, null);
  }));

Deno.test("a reply that does not match HeartbeatReply is a failure", async () => {
  const clock = new FakeClock(0);
  const line = new SimulatedGpioLine({ gpio: 21, direction: "out", clock });
  const logger = new MemoryLogger();
  const agent = await startAgent({
    hub: "http://hub.test",
    key: "k",
    clock,
    line,
    root: FIXTURE,
    health: () => Promise.resolve(HEALTH),
    fetch: () => Promise.resolve(Response.json({ node: 7, led: "disco", intervalMs: 1000 })),
    jitter: () => 0,
    logger,
  });
  try {
    await clock.advance(100);
    assert.ok(
      logger.lines.some((l) => /invalid heartbeat reply: led/.test(l)),
      logger.lines.join(),
    );
    assert.equal(agent.hubRequested, null);
  } finally {
    await agent.stop();
  }
});

Deno.test("stop: the line is left off and released; stop is idempotent", async () => {
  const { clock, hub, line, agent } = await setup();
  hub.led = "on";
  await clock.advance(500);
  assert.equal(line.value, 1);
  await Promise.all([agent.stop(), agent.stop()]);
  assert.equal(line.value, 0);
  assert.equal(line.released, true);
  const sent = hub.received.length;
  await clock.advance(5_000);
  assert.equal(hub.received.length, sent, "no heartbeats after stop");
  assert.equal(clock.pending, 0, "no sleeper left behind");
});

Deno.test("reporter: heartbeats fall due on the LED's rising edges, also after the hub was away", async () => {
  // Sharing the edge's timer is what saves the node a wake-up per second (docs/agent.md).
  const { clock, hub, line, agent } = await setup();
  try {
    await clock.advance(500);
    hub.behaviour = "down"; // 1000 fails; retries after 500 ms (1500), then 1000 ms (2500)
    await clock.advance(1_700);
    hub.behaviour = "up";
    await clock.advance(2_900);
    const sent = hub.received.map((r) => r.at);
    assert.deepEqual(sent, [0, 1000, 1500, 2500, 3000, 4000, 5000]);
    const rising = new Set(line.edges.filter((e) => e.value === 1).map((e) => e.at));
    const afterRecovery = hub.received.filter((r) => r.status === 200 && r.at > 2500);
    assert.ok(afterRecovery.length >= 3);
    for (const r of afterRecovery) assert.ok(rising.has(r.at), `heartbeat at ${r.at} off the LED`);
  } finally {
    await agent.stop();
  }
});

Deno.test("reporter: a heartbeat due with the LED's rising edge waits for the edge's write", async () => {
  // The heartbeat's timer was armed before the edge's, so it fires first on the shared tick;
  // its work (health, sending) must not delay the LED.
  const seen: [number, number][] = [];
  const onHealth = (at: number, level: number) => seen.push([at, level]);
  await withAgent({ onHealth }, async ({ clock }) => {
    await clock.advance(3_000);
    assert.deepEqual(seen, [[0, 1], [1000, 1], [2000, 1], [3000, 1]]);
  });
});

/** A heartbeat's text, as the agent sends it (for the reporter alone). */
function heartbeatText(seq: number, sentAt: number): string {
  return JSON.stringify({
    identity: {
      node: 7,
      hostname: "node07",
      model: "pi3b+",
      boardName: "",
      serial: "",
      mac: null,
      agentVersion: "t",
    },
    health: HEALTH,
    led: "heartbeat",
    seq,
    sentAt,
  });
}

Deno.test("reporter: while the hub answers, only the heartbeats' timer fires (the fault watchdog never wakes the node)", async () => {
  const fake = new FakeClock(0);
  const clock = new CountingClock(fake);
  const hub = new FakeHub(fake);
  const reporter = new Reporter({
    hub: "http://hub.test:4242",
    key: hub.key,
    clock,
    fetch: hub.fetch,
    heartbeat: (seq) => Promise.resolve(heartbeatText(seq, fake.now())),
  });
  reporter.start();
  try {
    await fake.advance(20_000);
    assert.equal(hub.accepted.length, 21);
    // one wake-up a heartbeat: before, the watchdog's timer also fired every 5 s
    assert.equal(clock.wakeups, 20, `${clock.wakeups} timer wake-ups in 20 s`);
    assert.equal(reporter.faulted, false);
  } finally {
    await reporter.stop();
  }
});

Deno.test("reporter: `idle` is told the next heartbeat after each good reply, never after a failure", async () => {
  const fake = new FakeClock(0);
  const hub = new FakeHub(fake);
  const idle: number[] = [];
  const reporter = new Reporter({
    hub: "http://hub.test:4242",
    key: hub.key,
    clock: fake,
    fetch: hub.fetch,
    jitter: () => 0,
    idle: (nextAt) => idle.push(nextAt),
    heartbeat: (seq) => Promise.resolve(heartbeatText(seq, fake.now())),
  });
  reporter.start();
  try {
    await fake.advance(2_000);
    assert.deepEqual(idle, [1000, 2000, 3000]);
    hub.behaviour = "down";
    await fake.advance(3_000);
    assert.deepEqual(idle, [1000, 2000, 3000], "no idle time while the hub is away");
    assert.ok(hub.received.length > 4);
  } finally {
    await reporter.stop();
  }
});

Deno.test("reply memo: an answer the same as the last good one is that reply again, not parsed anew; errors are never kept", () => {
  const memo = new ReplyMemo();
  const text = JSON.stringify({ node: 7, led: null, intervalMs: 1000 });
  const first = memo.of({ status: 200, text });
  assert.deepEqual(first, { node: 7, led: null, intervalMs: 1000 });
  assert.ok(Object.isFrozen(first), "shared between heartbeats: nobody may change it");
  assert.equal(memo.of({ status: 200, text }), first);
  // another status with the same text is not the same answer
  assert.throws(() => memo.of({ status: 500, text }), HubError);
  const bad = JSON.stringify({ node: 7, led: "blink", intervalMs: 1000 });
  for (let i = 0; i < 2; i++) {
    assert.throws(() => memo.of({ status: 200, text: bad }), /heartbeat reply/);
  }
  assert.equal(memo.of({ status: 200, text }), first);
  const identify = memo.of({ status: 200, text: text.replace("null", '"identify"') });
  assert.equal(identify.led, "identify");
  assert.notEqual(memo.of({ status: 200, text }), first, "only the last good answer is kept");
});
