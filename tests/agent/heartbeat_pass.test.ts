/**
 * The agent in heartbeat passes (kernel LED engine, `blockWhenIdle`, `heartbeatSocket`), on a
 * fake clock, the bay LED a model of the kernel's (fake_led_class.ts) and the hub behind a
 * model of a non-blocking socket (fake_socket.ts): one pass a second on the restarts' grid,
 * the reply read at the next pass and its LED mode written before the next heartbeat goes
 * out, a missing reply failing at the timeout, a reset connection replaced, fault and back.
 */
import assert from "node:assert/strict";
import { CountingClock } from "../support/fakes/counting_clock.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { FakeSocket } from "../support/fakes/fake_socket.ts";
import { PASS_OVERSHOOT_MS, startAgent } from "../../node-agent/agent.ts";
import { MemoryLogger } from "../../node-agent/log.ts";
import { PASSES_PER_LOOP_TURN } from "../../node-agent/reporter.ts";
import { kernelPattern } from "../../shared/led/kernel_pattern.ts";
import { FAULT, HEARTBEAT, IDENTIFY } from "../../shared/led/patterns.ts";
import type { LedMode } from "../../shared/wire_schemas.ts";
import { FakeLedClass } from "./fake_led_class.ts";

const T0 = 1_700_000_000_400;
const HEALTH = {
  uptimeSeconds: 1,
  load1: 0,
  memTotalBytes: 1,
  memAvailableBytes: 1,
  cpuTempCelsius: null,
};

/** A socket whose peer is `hub`: each request is answered at once unless the hub is silent. */
class AnsweringSocket extends FakeSocket {
  constructor(readonly hub: PeerHub) {
    super();
  }

  override send(bytes: Uint8Array): number {
    const n = super.send(bytes);
    const text = this.sentText;
    const body = JSON.parse(text.slice(text.lastIndexOf("\r\n\r\n") + 4));
    this.hub.requests.push([body.seq as number, this.hub.led_.read("pattern").trim()]);
    this.hub.holds.push(body.holdMs);
    this.hub.restartBefore.push({
      sentAt: this.hub.led_.clock.now(),
      restartedAt: this.hub.led_.writes.findLast((w) => w.attr === "repeat")?.at,
    });
    if (!this.hub.silent) {
      const reply = JSON.stringify({ node: 7, led: this.hub.led, intervalMs: 1000 });
      this.peerWrite(`HTTP/1.1 200 OK\r\ncontent-length: ${reply.length}\r\n\r\n${reply}`);
    }
    return n;
  }
}

/** The hub behind the agent's sockets. */
class PeerHub {
  led: LedMode | null = null;
  silent = false;
  readonly sockets: FakeSocket[] = [];
  /** [seq, the LED pattern at the time the request was sent]. */
  readonly requests: [number, string][] = [];
  /** Each request's `holdMs`. */
  readonly holds: unknown[] = [];
  /** For each request: when it was sent, and when the pattern was last restarted before. */
  readonly restartBefore: { sentAt: number; restartedAt: number | undefined }[] = [];
  constructor(readonly led_: FakeLedClass) {}

  connect = () => {
    const s = new AnsweringSocket(this);
    this.sockets.push(s);
    return s;
  };
}

async function setup() {
  const clock = new FakeClock(T0);
  const agentClock = new CountingClock(clock);
  const led = new FakeLedClass(clock);
  const hub = new PeerHub(led);
  const logger = new MemoryLogger();
  const blocks: { at: number; ms: number; pending: number }[] = [];
  const agent = await startAgent({
    hub: "http://10.42.0.250:4242",
    key: "k",
    clock: agentClock,
    led,
    ledEngine: "kernel",
    model: "pi3b+",
    node: 7,
    root: "/nonexistent",
    health: () => Promise.resolve(HEALTH),
    jitter: () => 0,
    logger,
    blockWhenIdle: (ms) => blocks.push({ at: clock.now(), ms, pending: agentClock.pending }),
    heartbeatSocket: hub.connect,
  });
  return { clock, led, hub, logger, blocks, agent };
}

const text = (p: typeof HEARTBEAT) => kernelPattern(p).text;

Deno.test("heartbeat passes: one heartbeat a pass on the grid over one connection, the thread blocked to the next pass", async () => {
  const { clock, hub, blocks, agent } = await setup();
  try {
    await clock.advance(5_000);
  } finally {
    await agent.stop();
  }
  assert.equal(hub.sockets.length, 1, "one kept-alive connection");
  assert.deepEqual(hub.requests.map(([seq]) => seq), [0, 1, 2, 3, 4]);
  // the answer is read at the next pass: the hub may hold it until 300 ms before then
  assert.deepEqual(hub.holds, [700, 700, 700, 700, 700]);
  assert.equal(agent.sent, 5);
  assert.ok(blocks.length >= 5);
  for (const b of blocks) {
    assert.equal((b.at + b.ms - PASS_OVERSHOOT_MS) % 1000, 0, "each block ends on the grid");
  }
  assert.ok(!agent.faulted);
});

Deno.test("heartbeat passes: each pass restarts the pattern first, on the grid; the engine keeps no timer, and only every 5th idle leaves one (the event loop's turn)", async () => {
  const { clock, hub, led, blocks, agent } = await setup();
  try {
    await clock.advance(10_000);
  } finally {
    await agent.stop();
  }
  const restarts = led.writes.filter((w) => w.attr === "repeat").map((w) => w.at);
  // the first is the engine's start (shown at once, off the grid); then one per pass
  const passes = restarts.slice(1, -1); // the last: stop's dark pattern
  assert.ok(passes.length >= 9, `${passes.length} restarts`);
  for (const t of passes) assert.equal(t % 1000, 0, `restart at ${t} is off the grid`);
  assert.equal(new Set(passes).size, passes.length, "one restart a pass, none from a timer");
  for (const r of hub.restartBefore) assert.equal(r.restartedAt, r.sentAt, "restart, then send");
  // timers pending as the thread blocks: none, but the loop's turn before every 5th pass
  const turns = blocks.map((b) => b.pending);
  assert.ok(turns.length >= 9);
  assert.deepEqual(turns, turns.map((_, i) => (i + 1) % PASSES_PER_LOOP_TURN === 0 ? 1 : 0));
});

Deno.test("heartbeat passes: the hub's mode is read at the next pass and written before that pass's heartbeat goes out", async () => {
  const { clock, hub, led, agent } = await setup();
  let firstAsked = 0; // the first request answered with identify
  try {
    await clock.advance(2_000);
    hub.led = "identify"; // the hub has it from now: the next reply carries it
    firstAsked = hub.requests.length;
    await clock.advance(3_000);
  } finally {
    await agent.stop();
  }
  const [, patternThen] = hub.requests[firstAsked + 1];
  assert.equal(patternThen, text(IDENTIFY), "the pass that read identify wrote it before sending");
  assert.equal(hub.requests[firstAsked][1], text(HEARTBEAT));
  assert.equal(agent.hubRequested, "identify");
  assert.ok(led.edges.length > 0, "the kernel model blinked");
});

Deno.test("heartbeat passes: a reply missing for the timeout fails, the connection is replaced; fault after the threshold, cleared by the next reply", async () => {
  const { clock, hub, logger, led, agent } = await setup();
  try {
    await clock.advance(1_000);
    hub.silent = true;
    await clock.advance(2_000); // sent at +2 s, still waiting at +3 s
    assert.equal(agent.faulted, false);
    assert.ok(!logger.lines.some((l) => /did not answer/.test(l)));
    await clock.advance(1_000); // +4 s: 2 s without its answer
    assert.ok(
      logger.lines.some((l) => /hub did not answer within 2000 ms/.test(l)),
      logger.lines.join("\n"),
    );
    assert.ok(hub.sockets[0].closed, "a late answer must not pass for the next heartbeat's");
    await clock.advance(4_000);
    assert.equal(agent.faulted, true);
    assert.equal(led.read("pattern").trim(), text(FAULT));
    hub.silent = false; // the request waiting now still goes unanswered; backoff 2 s after it
    await clock.advance(6_000);
    assert.equal(agent.faulted, false);
    assert.equal(led.read("pattern").trim(), text(HEARTBEAT));
  } finally {
    await agent.stop();
  }
  assert.ok(hub.sockets.length >= 2, "connected again");
});

Deno.test("heartbeat passes: a reset connection is a failed heartbeat and the next goes over a new one", async () => {
  const { clock, hub, logger, agent } = await setup();
  try {
    await clock.advance(1_000);
    hub.silent = true;
    await clock.advance(1_000);
    hub.sockets[0].peerReset();
    hub.silent = false;
    await clock.advance(1_000); // the pass reads ECONNRESET
    assert.ok(
      logger.lines.some((l) => /Connection reset by peer/.test(l)),
      logger.lines.join("\n"),
    );
    await clock.advance(3_000);
  } finally {
    await agent.stop();
  }
  assert.equal(hub.sockets.length, 2);
  assert.ok(hub.sockets[1].sent.length > 0);
  assert.ok(!agent.faulted);
});
