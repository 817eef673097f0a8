/**
 * The kernel LED engine against a model of the kernel's LED class and ledtrig-pattern
 * (tests/agent/fake_led_class.ts): patterns in phase with the wall clock's grid, the dead-man
 * (an agent that stops restarting leaves the LED dark within 3 s), mode changes, stop, the
 * probe, and the agent's choice of engine.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import { KERNEL_HOLD_MS, kernelPattern, nextRearm } from "../../../shared/led/kernel_pattern.ts";
import {
  FAULT,
  HEARTBEAT,
  HEARTBEAT_INVERTED,
  IDENTIFY,
  ledPatternFor,
  ON,
} from "../../../shared/led/patterns.ts";
import { KERNEL_DARK_PATTERN, KernelLedEngine } from "../../../node-agent/led/kernel_engine.ts";
import { type LedClassDevice, probeKernelLed } from "../../../node-agent/led/led_class.ts";
import { MemoryLogger } from "../../../node-agent/log.ts";
import { type AgentOptions, startAgent } from "../../../node-agent/agent.ts";
import { Heartbeat, LedMode } from "../../../shared/wire_schemas.ts";
import { FakeLedClass } from "../fake_led_class.ts";

/** A clock 0.4 s past a whole second of the epoch, so the grid matters. */
const T0 = 1_700_000_000_400;

function setup(triggers?: string[]) {
  const clock = new FakeClock(T0);
  const led = new FakeLedClass(clock, triggers);
  return { clock, led };
}

/** Rising edges' distance from the grid (k × 1000 ms of the epoch), ms. */
const risingErrors = (led: FakeLedClass, from: number) =>
  led.edges.filter((e) => e.value === 1 && e.at >= from).map((e) => {
    const k = Math.round(e.at / 1000);
    return Math.abs(e.at - k * 1000);
  });

Deno.test("kernel patterns: step pairs, unrolled for the hold, starting lit and ending dark", () => {
  assert.deepEqual(kernelPattern(HEARTBEAT), {
    text: "1 900 1 0 0 100 0 0 1 900 1 0 0 100 0 0",
    phaseMs: 0,
    rearmMs: 1000,
    holdMs: 2000,
  });
  // The Zero W's GPIO pattern, were it given in GPIO terms, starts at its rise (900 ms).
  assert.equal(kernelPattern(HEARTBEAT_INVERTED).phaseMs, 900);
  assert.equal(
    kernelPattern(HEARTBEAT_INVERTED).text.split(" ").slice(0, 8).join(" "),
    "1 100 1 0 0 900 0 0",
  );
  assert.equal(
    kernelPattern(FAULT).text,
    "1 100 1 0 0 100 0 0 1 100 1 0 0 700 0 0".repeat(1) + " " +
      "1 100 1 0 0 100 0 0 1 100 1 0 0 700 0 0",
  );
  assert.equal(kernelPattern(IDENTIFY).text.split(" ").length, 10 * 8);
  assert.equal(kernelPattern(ON).text, "1 1000 1 0 1 1000 1 0 0 0");
  assert.throws(() => kernelPattern(HEARTBEAT, 1000), RangeError);
  assert.equal(nextRearm(kernelPattern(HEARTBEAT), T0), 1_700_000_001_000);
  assert.equal(nextRearm(kernelPattern(HEARTBEAT_INVERTED), T0), 1_700_000_000_900);
});

Deno.test("kernel engine: rising edges on the grid within a jiffy for a minute; the kernel alone would drift", async () => {
  const { clock, led } = setup();
  led.write("trigger", "pattern");
  const engine = new KernelLedEngine({ led, clock });
  engine.start();
  await clock.advance(60_000);
  const errs = risingErrors(led, T0 + 600); // after the first grid instant
  assert.ok(errs.length >= 59, `rising edges: ${errs.length}`);
  assert.ok(Math.max(...errs) <= 4, `rising edge errors ${errs}`);
  // one restart per second, nothing else written after the start
  const late = led.writes.filter((w) => w.at > T0 + 600);
  assert.ok(late.every((w) => w.attr === "repeat" && w.value === "1"));
  assert.ok(Math.abs(late.length - 60) <= 1, `${late.length} restarts`);
  // falling edges: the kernel's own timer, 900 ms rounded up by the timer wheel
  const highs = led.edges.slice(2).flatMap((e, i, a) =>
    e.value === 1 && a[i + 1] ? [a[i + 1].at - e.at] : []
  );
  assert.ok(highs.every((h) => h >= 900 && h <= 940), `high phases ${highs}`);
  await engine.stop();

  // The same pattern without restarts (repeat -1: what a timer or a free-running pattern does)
  // drifts a period's rounding every second.
  const free = setup();
  free.led.write("trigger", "pattern");
  free.led.write("pattern", "1 900 1 0 0 100 0 0\n");
  free.led.write("repeat", "-1");
  await free.clock.advance(10_000);
  const rises = free.led.edges.filter((e) => e.value === 1).map((e) => e.at);
  assert.ok(rises.at(-1)! - rises[0] > 9 * 1000 + 100, `free-running rises ${rises}`);
});

Deno.test("kernel engine: a hung or killed agent's LED goes dark within 3 s and stays dark", async () => {
  for (const mode of ["heartbeat", "identify", "fault", "on"] as const) {
    const { clock, led } = setup();
    led.write("trigger", "pattern");
    let frozen = false;
    // The agent as the kernel sees it: its writes stop arriving when it hangs (SIGSTOP) or dies.
    const device: LedClassDevice = {
      path: led.path,
      read: (a) => led.read(a),
      write: (a, v) => {
        if (!frozen) led.write(a, v);
      },
    };
    const engine = new KernelLedEngine({ led: device, clock, mode });
    engine.start();
    await clock.advance(5_250);
    assert.equal(led.brightness === 1 || led.edges.at(-1)!.at > T0 + 4_000, true, `${mode}: alive`);
    const hungAt = clock.now();
    frozen = true;
    await clock.advance(10_000);
    const last = led.edges.at(-1)!;
    assert.equal(last.value, 0, `${mode}: dark at the end`);
    assert.ok(last.at - hungAt <= 3_000, `${mode}: dark ${last.at - hungAt} ms after the hang`);
    if (mode !== "on") {
      // still alive for the rest of the last run: edges up to a second after the hang
      assert.ok(led.edges.some((e) => e.at > hungAt + KERNEL_HOLD_MS - 1900), `${mode}: held`);
    }
    assert.equal(led.running, false, `${mode}: no kernel timer left`);
    frozen = false;
    await engine.stop();
  }
});

Deno.test("kernel engine: a mode change shows at once and the next restart is on the grid", async () => {
  const { clock, led } = setup();
  led.write("trigger", "pattern");
  const engine = new KernelLedEngine({ led, clock });
  engine.start();
  await clock.advance(2_300);
  engine.setMode("identify");
  const switched = clock.now();
  await clock.advance(150);
  assert.equal(led.read("pattern").trim(), kernelPattern(IDENTIFY).text);
  // lit already (heartbeat's 900 ms on), identify's first dark step 100 ms (a jiffy) later
  assert.deepEqual(
    led.edges.filter((e) => e.at > switched).map((e) => [e.at - switched, e.value]),
    [[104, 0]],
  );
  await clock.advance(3_000);
  // identify: 100 on / 100 off, rising edges on the 200 ms grid after the next whole second
  const after = led.edges.filter((e) => e.value === 1 && e.at >= Math.ceil(switched / 1000) * 1000);
  assert.ok(after.length >= 14);
  assert.ok(
    after.every((e) => Math.abs(e.at - Math.round(e.at / 200) * 200) <= 4),
    JSON.stringify(after),
  );
  await engine.stop();
});

Deno.test("kernel patterns: every mode restarts on the 1 s grid at phase 0 (what a driven engine's caller relies on)", () => {
  for (const mode of LedMode.options) {
    const k = kernelPattern(ledPatternFor(mode));
    assert.equal(k.rearmMs, 1000, mode);
    assert.equal(k.phaseMs, 0, mode);
  }
});

Deno.test("kernel engine, driven: no timer of its own; restart() restarts the pattern, drive() and a mode change write it at once; nothing after stop", async () => {
  const { clock, led } = setup();
  led.write("trigger", "pattern");
  const engine = new KernelLedEngine({ led, clock });
  const restarts = () => led.writes.filter((w) => w.attr === "repeat").length;
  engine.drive();
  assert.equal(led.read("pattern").trim(), kernelPattern(HEARTBEAT).text);
  assert.equal(restarts(), 1);
  await clock.advance(5_000);
  assert.equal(restarts(), 1, "nobody restarted it: no timer of the engine did");
  assert.equal(led.brightness, 0, "its run is over: dark (the dead-man)");
  for (let i = 0; i < 3; i++) {
    engine.restart();
    await clock.advance(1_000);
  }
  assert.equal(restarts(), 4);
  assert.equal(engine.rearms, 4);
  assert.ok(led.edges.filter((e) => e.value === 1 && e.at > T0 + 5_000).length >= 3, "alive again");
  engine.setMode("identify");
  assert.equal(led.read("pattern").trim(), kernelPattern(IDENTIFY).text);
  assert.equal(restarts(), 5);
  await engine.stop();
  engine.restart();
  assert.equal(led.read("pattern").trim(), KERNEL_DARK_PATTERN.trim());
  assert.equal(restarts(), 6, "stop's dark restart, none after");
});

Deno.test("kernel engine: stop leaves the LED dark with the pattern trigger still selected", async () => {
  const { clock, led } = setup();
  led.write("trigger", "pattern");
  const engine = new KernelLedEngine({ led, clock });
  engine.start();
  await clock.advance(1_100);
  await engine.stop();
  await clock.advance(5_000);
  assert.equal(led.brightness, 0);
  assert.match(led.read("trigger"), /\[pattern\]/);
  assert.equal(led.edges.at(-1)!.value, 0);
});

Deno.test("probe: selects the pattern trigger; says why when the node, the trigger or access is missing", () => {
  const clock = new FakeClock(T0);
  const led = new FakeLedClass(clock);
  assert.throws(() => led.read("delay_on"), Deno.errors.NotFound); // only under `timer`
  led.write("trigger", "timer");
  assert.equal(led.read("delay_on").trim(), "500");
  assert.equal(probeKernelLed(led).ok, true);
  assert.match(led.read("trigger"), /\[pattern\]/);
  assert.throws(() => led.read("delay_on"), Deno.errors.NotFound);

  const noPattern = probeKernelLed(new FakeLedClass(clock, ["none", "timer", "heartbeat"]));
  assert.equal(noPattern.ok, false);
  assert.match(
    !noPattern.ok ? noPattern.reason : "",
    /no pattern trigger \(load ledtrig-pattern\)/,
  );

  const locked = new FakeLedClass(clock);
  locked.write("trigger", "pattern");
  locked.readOnly.add("pattern");
  const denied = probeKernelLed(locked);
  assert.match(!denied.ok ? denied.reason : "", /cannot drive .*Permission denied/);

  const missing: LedClassDevice = {
    path: "/sys/class/leds/bay",
    read: () => {
      throw new Deno.errors.NotFound("No such file or directory (os error 2)");
    },
    write: () => {
      throw new Deno.errors.NotFound("No such file or directory (os error 2)");
    },
  };
  const none = probeKernelLed(missing);
  assert.match(!none.ok ? none.reason : "", /no bay LED node/);
});

/** A hub that answers every heartbeat and keeps the bodies. */
/** Health for in-process agents (the figures do not matter here). */
const tinyHealth = () =>
  Promise.resolve({
    uptimeSeconds: 1,
    load1: 0,
    memTotalBytes: 1,
    memAvailableBytes: 1,
    cpuTempCelsius: null,
  });

function fakeFetch(bodies: unknown[]): typeof fetch {
  return (_input, init) => {
    bodies.push(JSON.parse(String(init?.body)));
    return Promise.resolve(
      new Response(JSON.stringify({ node: 17, led: null, intervalMs: 1000 }), {
        headers: { "content-type": "application/json" },
      }),
    );
  };
}

/** An agent's options apart from its bay and LED: its heartbeats go into `bodies`. */
function agentOptions(clock: FakeClock, bodies: unknown[], logger: MemoryLogger) {
  return {
    hub: "http://hub.test",
    key: "k",
    clock,
    root: "/nonexistent",
    health: tinyHealth,
    fetch: fakeFetch(bodies),
    logger,
  };
}

/**
 * Runs an agent (LED engine "auto") on a bay LED whose kernel offers `triggers` (default: the
 * model's) for 3 s, then stops it.
 */
async function agentFor3s(triggers: string[] | undefined, bay: Partial<AgentOptions>) {
  const clock = new FakeClock(T0);
  const led = new FakeLedClass(clock, triggers);
  const bodies: unknown[] = [];
  const logger = new MemoryLogger();
  const agent = await startAgent({
    ...agentOptions(clock, bodies, logger),
    led,
    ledEngine: "auto",
    ...bay,
  });
  await clock.advance(3_000);
  await agent.stop();
  return { clock, agent, bodies, logger };
}

Deno.test("agent: kernel engine where the bay LED node works, in the heartbeat; no GPIO line", async () => {
  const { agent, bodies, logger } = await agentFor3s(undefined, {
    model: "pi0w",
    hostname: "node17",
    node: 17,
  });
  assert.equal(agent.ledEngine, "kernel");
  assert.equal(agent.line, undefined);
  assert.ok(bodies.length >= 3);
  for (const b of bodies) {
    const hb = Heartbeat.parse(b);
    assert.equal(hb.ledEngine, "kernel");
  }
  // Heartbeats after the first fall due on the restarts' grid (one wake-up for both).
  const sent = (bodies as { sentAt: number }[]).slice(1).map((b) => b.sentAt % 1000);
  assert.deepEqual([...new Set(sent)], [0]);
  assert.match(logger.lines.join("\n"), /the kernel blinks the bay LED/);
});

Deno.test("agent: without the pattern trigger it falls back to its own engine, says so once; kernel forced fails", async () => {
  const { clock, agent, bodies, logger } = await agentFor3s(["none", "timer"], {
    gpioBackend: "sim",
    model: "pi3b+",
    hostname: "node07",
    node: 7,
  });
  assert.equal(agent.ledEngine, "agent");
  assert.ok(agent.line);
  const said = logger.lines.filter((l) =>
    /no pattern trigger.*the agent blinks the bay LED itself/.test(l)
  );
  assert.equal(said.length, 1, logger.lines.join("\n"));
  assert.ok(bodies.every((b) => (b as { ledEngine: string }).ledEngine === "agent"));

  await assert.rejects(
    startAgent({
      hub: "http://hub.test",
      key: "k",
      clock,
      led: new FakeLedClass(clock, ["none"]),
      ledEngine: "kernel",
      model: "pi3b+",
      hostname: "node07",
      node: 7,
      root: "/nonexistent",
      fetch: fakeFetch([]),
      logger,
    }),
    /--led-engine kernel: .*no pattern trigger/,
  );
});

Deno.test("agent: with the kernel engine it blocks after each reply until the next restart, after writing the mode the reply asked for", async () => {
  const clock = new FakeClock(T0);
  const led = new FakeLedClass(clock);
  let ask: "identify" | null = null;
  const blocks: { at: number; ms: number; pattern: string }[] = [];
  const agent = await startAgent({
    hub: "http://hub.test",
    key: "k",
    clock,
    led,
    ledEngine: "kernel",
    model: "pi3b+",
    node: 7,
    root: "/nonexistent",
    health: tinyHealth,
    fetch: () => Promise.resolve(Response.json({ node: 7, led: ask, intervalMs: 1000 })),
    blockWhenIdle: (ms) => blocks.push({ at: clock.now(), ms, pattern: led.read("pattern") }),
  });
  try {
    await clock.advance(2_000);
    ask = "identify";
    await clock.advance(2_000);
  } finally {
    await agent.stop();
  }
  // one block per heartbeat, each to the next whole second (the restarts' grid)
  assert.ok(blocks.length >= 4, JSON.stringify(blocks));
  for (const b of blocks) assert.equal((b.at + b.ms) % 1000, 0, JSON.stringify(b));
  // the first block after the reply asking for identify comes with identify's pattern written
  const id = kernelPattern(IDENTIFY);
  const after = blocks.filter((b) => b.at > T0 + 2_000);
  assert.equal(after[0].pattern.trim().split(/\s+/).length, id.text.split(/\s+/).length);
  assert.notEqual(
    after[0].pattern.trim().split(/\s+/).length,
    kernelPattern(HEARTBEAT).text.split(/\s+/).length,
  );
});
