import assert from "node:assert/strict";
import { HardwareFault } from "../../../shared/pins/errors.ts";
import { DriverClosedError } from "../../../hub/power/errors.ts";
import { layerErrorCode } from "../../../hub/http/errors.ts";
import type { BinaryValue, Direction, GpioLine } from "../../../shared/pins/gpio_line.ts";
import { createGpioPowerSwitch, type GpioLineOpener } from "../../../hub/power/from_config.ts";
import type { GpioBackend } from "../../../hub/power/power_config.ts";

/** A small fake line: `stuckAt` makes reads ignore writes, `failWrites` makes writes throw. */
class FakeLine implements GpioLine {
  readonly history: BinaryValue[] = [];
  value: BinaryValue;
  stuckAt: BinaryValue | null = null;
  failWrites = false;
  released = false;
  constructor(readonly gpio: number, readonly direction: Direction, initial: BinaryValue) {
    this.value = initial;
  }
  read(): Promise<BinaryValue> {
    return Promise.resolve(this.stuckAt ?? this.value);
  }
  write(value: BinaryValue): Promise<void> {
    if (this.failWrites) return Promise.reject(new Error("EIO writing value"));
    this.value = value;
    this.history.push(value);
    return Promise.resolve();
  }
  unexport(): Promise<void> {
    this.released = true;
    return Promise.resolve();
  }
}

function opener() {
  const lines = new Map<number, FakeLine>();
  const calls: [number, Direction, GpioBackend, BinaryValue | undefined][] = [];
  const open: GpioLineOpener = (gpio, direction, backend, initial) => {
    calls.push([gpio, direction, backend, initial]);
    const line = new FakeLine(gpio, direction, initial ?? 0);
    lines.set(gpio, line);
    return Promise.resolve(line);
  };
  return { lines, calls, open };
}

const CONFIG = {
  driver: "gpio" as const,
  backend: "chardev" as const,
  lines: [{ node: 1, gpio: 17 }, { node: 2, gpio: 27, activeLow: true }],
};

Deno.test("gpio driver opens outputs at their off level and maps active-high/low", async () => {
  const { lines, calls, open } = opener();
  const sw = await createGpioPowerSwitch(CONFIG, open);
  assert.equal(sw.name, "gpio");
  assert.deepEqual(calls, [[17, "out", "chardev", 0], [27, "out", "chardev", 1]]);
  assert.equal(await sw.read(1), "off");
  assert.equal(await sw.read(2), "off");
  await sw.set(1, "on");
  await sw.set(2, "on");
  assert.equal(lines.get(17)!.value, 1);
  assert.equal(lines.get(27)!.value, 0);
  assert.equal(await sw.read(1), "on");
  assert.equal(await sw.read(2), "on");
  await sw.set(2, "off");
  assert.deepEqual(lines.get(27)!.history, [0, 1]);
});

Deno.test("read() asks the line every time (no cache)", async () => {
  const { lines, open } = opener();
  const sw = await createGpioPowerSwitch(CONFIG, open);
  await sw.set(1, "on");
  lines.get(17)!.value = 0; // changed behind the driver's back
  assert.equal(await sw.read(1), "off");
});

Deno.test("a line that does not follow the write is a HardwareFault", async () => {
  const { lines, open } = opener();
  const sw = await createGpioPowerSwitch(CONFIG, open);
  lines.get(17)!.stuckAt = 0;
  await assert.rejects(
    sw.set(1, "on"),
    (e) => e instanceof HardwareFault && /node 1: power on did not take: GPIO 17/.test(e.message),
  );
});

Deno.test("a write error is a HardwareFault naming node and line", async () => {
  const { lines, open } = opener();
  const sw = await createGpioPowerSwitch(CONFIG, open);
  lines.get(27)!.failWrites = true;
  await assert.rejects(
    sw.set(2, "on"),
    (e) =>
      e instanceof HardwareFault &&
      /node 2: could not switch power on \(GPIO 27 \(chardev\)\): EIO writing value/.test(
        e.message,
      ),
  );
});

Deno.test("unknown nodes, close and failed opens", async () => {
  const { lines, open } = opener();
  const sw = await createGpioPowerSwitch(CONFIG, open);
  await assert.rejects(
    sw.read(3),
    (e) => e instanceof HardwareFault && /no wiring for node 3/.test(e.message),
  );
  assert.deepEqual(sw.nodes, [1, 2]);
  await sw.close();
  await sw.close();
  assert.ok([...lines.values()].every((l) => l.released));
  await assert.rejects(
    sw.set(1, "on"),
    (e) => e instanceof DriverClosedError && layerErrorCode(e) === "not_ready",
  );

  const second = opener();
  const failing: GpioLineOpener = (gpio, ...rest) =>
    gpio === 27 ? Promise.reject(new Error("GPIO 27 busy")) : second.open(gpio, ...rest);
  await assert.rejects(createGpioPowerSwitch(CONFIG, failing), /GPIO 27 busy/);
  assert.equal(second.lines.get(17)!.released, true);
});
