import assert from "node:assert/strict";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import type { BinaryValue, GpioLine } from "../../../shared/pins/gpio_line.ts";
import { SimulatedGpioLine } from "../../../shared/pins/simulated.ts";
import type { Model } from "../../../shared/schemas.ts";
import { MemoryLogger } from "../../../node-agent/log.ts";
import { LedEngine } from "../../../node-agent/led/engine.ts";

function setup(model: Model, logger = new MemoryLogger()) {
  const clock = new FakeClock(0);
  const line = new SimulatedGpioLine({ gpio: 21, direction: "out", clock });
  const engine = new LedEngine({ line, clock, model, logger });
  return { clock, line, engine, logger };
}

/** Edges as [ms, level] pairs for compact comparison. */
const pairs = (line: SimulatedGpioLine) => line.edges.map((e) => [e.at, e.value]);

Deno.test("heartbeat on a Pi 3B+: on at k×1000, off at k×1000+900", async () => {
  const { clock, line, engine } = setup("pi3b+");
  engine.start();
  await clock.advance(3_000);
  await engine.stop();
  assert.deepEqual(pairs(line), [[0, 1], [900, 0], [1000, 1], [1900, 0], [2000, 1], [2900, 0], [
    3000,
    1,
  ]]);
});

Deno.test("heartbeat on a Pi Zero W is inverted: on only from 900 to 1000", async () => {
  const { clock, line, engine } = setup("pi0w");
  engine.start();
  await clock.advance(2_000);
  await engine.stop();
  // The line starts at 0, so the first edge is the rise at 900.
  assert.deepEqual(pairs(line), [[900, 1], [1000, 0], [1900, 1], [2000, 0]]);
});

Deno.test("unknown model: standard heartbeat and a warning, no crash", async () => {
  const { clock, line, engine, logger } = setup("unknown");
  engine.start();
  await clock.advance(1_000);
  await engine.stop();
  assert.deepEqual(pairs(line), [[0, 1], [900, 0], [1000, 1]]);
  assert.match(logger.lines.join("\n"), /warn: board model unknown/);
});

Deno.test("a late wake-up does not push later edges back", async () => {
  const { clock, line, engine } = setup("pi4");
  clock.lateness.push(0, 37); // the wake for the 900 edge is fine, the one for 1000 is 37 late
  engine.start();
  await clock.advance(2_000);
  await engine.stop();
  assert.deepEqual(pairs(line), [[0, 1], [900, 0], [1037, 1], [1900, 0], [2000, 1]]);
});

Deno.test("a wake-up later than several edges skips to the edge due now", async () => {
  const { clock, line, engine } = setup("pi3b");
  clock.lateness.push(1_250); // due at 900, wakes at 2150: edges 900, 1000, 1900 are missed
  engine.start();
  await clock.advance(3_000);
  await engine.stop();
  // At 2150 the current edge is the rise of 2000 (already 1 → no new edge); next is 2900.
  assert.deepEqual(pairs(line), [[0, 1], [2900, 0], [3000, 1]]);
  assert.ok(line.writes >= 2);
});

Deno.test("no drift over 10 minutes of heartbeats", async () => {
  const { clock, line, engine } = setup("pi3b+");
  engine.start();
  await clock.advance(600 * 1000 + 1);
  await engine.stop();
  const last = line.edges[line.edges.length - 1];
  assert.deepEqual(last, { at: 600_000, value: 1 });
  assert.equal(line.edges.length, 2 * 600 + 1);
});

Deno.test("a mode change takes effect at once and restarts the timeline", async () => {
  const { clock, line, engine } = setup("pi3b+");
  engine.start();
  await clock.advance(450);
  engine.setMode("identify");
  await clock.advance(0);
  assert.equal(engine.mode, "identify");
  await clock.advance(300);
  engine.setMode("off");
  await clock.advance(0);
  assert.deepEqual(line.value, 0);
  const before = line.edges.length;
  await clock.advance(5_000);
  assert.deepEqual(line.edges.length, before, "off stays off");
  engine.setMode("on");
  await clock.advance(1);
  assert.deepEqual(line.value, 1);
  await engine.stop();
  assert.deepEqual(pairs(line), [[0, 1], [550, 0], [650, 1], [750, 0], [5750, 1]]);
});

Deno.test("fault pattern: two short blinks per second", async () => {
  const { clock, line, engine } = setup("pi3b+");
  engine.setMode("fault");
  engine.start();
  await clock.advance(1_000);
  await engine.stop();
  assert.deepEqual(pairs(line), [[0, 1], [100, 0], [200, 1], [300, 0], [1000, 1]]);
});

Deno.test("a failing line is logged once and the loop goes on", async () => {
  const clock = new FakeClock(0);
  let fail = true;
  const written: BinaryValue[] = [];
  const line: GpioLine = {
    gpio: 21,
    direction: "out",
    read: () => Promise.resolve(0),
    write(v) {
      if (fail) return Promise.reject(new Error("EIO"));
      written.push(v);
      return Promise.resolve();
    },
    unexport: () => Promise.resolve(),
  };
  const logger = new MemoryLogger();
  const engine = new LedEngine({ line, clock, model: "pi4", logger });
  engine.start();
  await clock.advance(2_000);
  fail = false;
  await clock.advance(1_000);
  await engine.stop();
  assert.deepEqual(logger.lines.filter((l) => l.startsWith("error")).length, 1);
  assert.deepEqual(written, [0, 1]);
});

/** A simulated line whose writes fail (EIO, like a sysfs value file gone bad) while `failing`. */
class FlakyLine extends SimulatedGpioLine {
  failing = true;
  attempts = 0;
  override write(value: BinaryValue): Promise<void> {
    this.attempts++;
    if (this.failing) return Promise.reject(new Error("EIO: input/output error"));
    return super.write(value);
  }
}

Deno.test("constant mode: a failed write is retried every second until it takes", async () => {
  const clock = new FakeClock(0);
  const line = new FlakyLine({ gpio: 21, direction: "out", clock });
  const logger = new MemoryLogger();
  const engine = new LedEngine({ line, clock, model: "pi4", mode: "on", logger });
  engine.start();
  await clock.advance(2_500);
  assert.equal(line.attempts, 3, "tried at 0, 1000 and 2000");
  assert.equal(line.value, 0);
  line.failing = false;
  await clock.advance(1_000);
  assert.deepEqual(pairs(line), [[3000, 1]], "the retry at 3000 turns the LED on");
  await clock.advance(10_000);
  assert.equal(line.attempts, 4, "no more writes once one has worked");
  assert.equal(clock.pending, 1, "one endless sleep, no retry timer");
  await engine.stop();
  assert.equal(logger.lines.filter((l) => l.startsWith("error")).length, 1);
  assert.ok(logger.lines.some((l) => /GPIO 21 writes work again/.test(l)), logger.lines.join());
});
