import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { GpioBackendError, HardwareFault } from "../../shared/pins/errors.ts";
import { findMainChipBase, openSysfsLine } from "../../shared/pins/sysfs.ts";
import type { GpioLine } from "../../shared/pins/gpio_line.ts";
import { FakeSysfsKernel, KERNEL_6_6_CHIPS, LEGACY_CHIPS } from "./fake_sysfs_kernel.ts";

/** Advances the fake clock in 10 ms steps until `p` settles (real file I/O runs meanwhile). */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<void> {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  for (let i = 0; i < 10_000 && !settled; i++) await clock.advance(10);
}

Deno.test("sysfs: chip base 0 on old kernels, 512 on ≥ 6.6", async () => {
  for (const [chips, base] of [[LEGACY_CHIPS, 0], [KERNEL_6_6_CHIPS, 512]] as const) {
    const k = await FakeSysfsKernel.create([...chips].reverse());
    try {
      assert.equal(await findMainChipBase(k.gpioDir, k.io), base);
    } finally {
      await k.dispose();
    }
  }
});

Deno.test("sysfs: GPIO 21 on a 6.6 kernel is exported as gpio533 and driven", async () => {
  const k = await FakeSysfsKernel.create(KERNEL_6_6_CHIPS);
  try {
    const line = await openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: k.root, io: k.io });
    assert.equal(await k.attr(533, "direction"), "out");
    await line.write(1);
    assert.equal(await line.read(), 1);
    await line.write(0);
    assert.equal(await k.attr(533, "value"), "0");
    assert.deepEqual(k.valueWrites, [{ line: 533, value: 1 }, { line: 533, value: 0 }]);
    await line.unexport();
    await line.unexport(); // idempotent
    assert.equal(await k.attr(533, "value"), undefined);
    await assert.rejects(() => line.write(1), HardwareFault);
  } finally {
    await k.dispose();
  }
});

Deno.test("sysfs: a driver that ignores the base offset fails on a 6.6 kernel", async () => {
  const k = await FakeSysfsKernel.create(KERNEL_6_6_CHIPS);
  try {
    // Forcing base 0 writes "21" to export: no chip has global line 21 → EINVAL.
    await assert.rejects(
      () => openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: k.root, io: k.io, base: 0 }),
      (e: Error) =>
        e instanceof HardwareFault && /export GPIO 21.*Invalid argument/.test(e.message),
    );
  } finally {
    await k.dispose();
  }
});

Deno.test("sysfs: the kernel model refuses value writes before direction=out", async () => {
  const k = await FakeSysfsKernel.create(LEGACY_CHIPS);
  try {
    const input = await openSysfsLine({ gpio: 21, direction: "in", sysfsRoot: k.root, io: k.io });
    assert.equal(await k.attr(21, "direction"), "in");
    await assert.rejects(() => input.write(1), /Operation not permitted/);
    assert.deepEqual(k.valueWrites, []);
  } finally {
    await k.dispose();
  }
});

/**
 * Opens GPIO 21 as an output on a kernel whose udev grants the new files' permissions only
 * after `udevDelayWrites` writes, under a fake clock; `check` sees the opening.
 */
async function openBehindUdev(
  udevDelayWrites: number,
  permissionTimeoutMs: number | undefined,
  check: (k: FakeSysfsKernel, clock: FakeClock, opening: Promise<GpioLine>) => Promise<void>,
): Promise<void> {
  const k = await FakeSysfsKernel.create(LEGACY_CHIPS);
  k.udevDelayWrites = udevDelayWrites;
  const clock = new FakeClock(0);
  try {
    const opening = openSysfsLine({
      gpio: 21,
      direction: "out",
      sysfsRoot: k.root,
      io: k.io,
      clock,
      permissionTimeoutMs,
    });
    await check(k, clock, opening);
  } finally {
    await k.dispose();
  }
}

Deno.test("sysfs: waits for udev to grant permissions after export", () =>
  openBehindUdev(3, undefined, async (k, clock, opening) => {
    await drive(clock, opening);
    const line = await opening;
    await line.write(1);
    assert.equal(await k.attr(21, "value"), "1");
  }));

Deno.test("sysfs: gives up with a clear error if permission never comes", () =>
  openBehindUdev(1_000, 100, async (_k, clock, opening) => {
    const outcome = assert.rejects(opening, /cannot set .*direction.*Permission denied/);
    await drive(clock, opening);
    await outcome;
    assert.ok(clock.now() >= 100, "gave up only after the timeout");
  }));

Deno.test("sysfs: an output can start high without a low glitch", async () => {
  const k = await FakeSysfsKernel.create(LEGACY_CHIPS);
  try {
    const line = await openSysfsLine({
      gpio: 17,
      direction: "out",
      initial: 1,
      sysfsRoot: k.root,
      io: k.io,
    });
    assert.equal(await k.attr(17, "direction"), "out");
    assert.equal(await line.read(), 1);
    assert.deepEqual(k.valueWrites, [], "the level came with the direction write");
  } finally {
    await k.dispose();
  }
});

Deno.test("sysfs: an already exported line is reused", async () => {
  const k = await FakeSysfsKernel.create(LEGACY_CHIPS);
  try {
    await k.io.writeText(`${k.gpioDir}/export`, "21");
    const line = await openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: k.root, io: k.io });
    await line.write(1);
    assert.equal(await k.attr(21, "value"), "1");
  } finally {
    await k.dispose();
  }
});

Deno.test("sysfs: absent interface or no Pi chip is a GpioBackendError", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: empty }),
      (e: Error) => e instanceof GpioBackendError && /CONFIG_GPIO_SYSFS/.test(e.message),
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
  const k = await FakeSysfsKernel.create([{ base: 0, ngpio: 32, label: "some-other-soc" }]);
  try {
    await assert.rejects(
      () => openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: k.root, io: k.io }),
      (e: Error) => e instanceof GpioBackendError && /some-other-soc/.test(e.message),
    );
  } finally {
    await k.dispose();
  }
});

Deno.test("sysfs: the real-filesystem io works on a plain tree (pre-exported line)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/class/gpio`;
    await Deno.mkdir(`${dir}/gpiochip512`, { recursive: true });
    await Deno.mkdir(`${dir}/gpio533`);
    await Deno.writeTextFile(`${dir}/gpiochip512/label`, "pinctrl-bcm2711\n");
    await Deno.writeTextFile(`${dir}/gpiochip512/base`, "512\n");
    await Deno.writeTextFile(`${dir}/gpio533/direction`, "in\n");
    await Deno.writeTextFile(`${dir}/gpio533/value`, "0\n");
    await Deno.writeTextFile(`${dir}/unexport`, "");
    const line = await openSysfsLine({ gpio: 21, direction: "out", sysfsRoot: root });
    assert.equal((await Deno.readTextFile(`${dir}/gpio533/direction`)).trim(), "low");
    await line.write(1);
    assert.equal((await Deno.readTextFile(`${dir}/gpio533/value`)).trim(), "1");
    await line.unexport();
    assert.equal((await Deno.readTextFile(`${dir}/unexport`)).trim(), "533");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
