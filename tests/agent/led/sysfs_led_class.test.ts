/**
 * The bay LED's sysfs attributes as the agent writes them (`SysfsLedClass`), on plain files:
 * restarts (`repeat`) through one kept descriptor written at offset 0 (sysfs ignores the offset,
 * a plain file shows it), other attributes opened and truncated each time, and a failing write
 * that drops its descriptor so the next one opens the file afresh.
 */
import assert from "node:assert/strict";
import { SysfsLedClass } from "../../../node-agent/led/led_class.ts";
import { OsError } from "../../../shared/libc.ts";

async function ledDir() {
  const dir = await Deno.makeTempDir({ prefix: "sysfs-led-class-" });
  await Deno.writeTextFile(`${dir}/repeat`, "xxxxx\n");
  await Deno.writeTextFile(`${dir}/pattern`, "");
  return dir;
}

Deno.test("sysfs LED class: restarts go through one kept descriptor at offset 0; the pattern is rewritten whole", async () => {
  const dir = await ledDir();
  const led = new SysfsLedClass(dir);
  try {
    for (let i = 0; i < 3; i++) led.write("repeat", "1");
    // at offset 0 each time: a fresh open would truncate ("1"), a moving offset append ("111")
    assert.equal(await Deno.readTextFile(`${dir}/repeat`), "1xxxx\n");
    // the same descriptor: a file renamed over the attribute is not the one written
    await Deno.writeTextFile(`${dir}/repeat.new`, "yyy\n");
    await Deno.rename(`${dir}/repeat.new`, `${dir}/repeat`);
    led.write("repeat", "1");
    assert.equal(await Deno.readTextFile(`${dir}/repeat`), "yyy\n");
    led.write("pattern", "1 900 1 0 0 100 0 0\n");
    led.write("pattern", "0 1000 0 0\n");
    assert.equal(await Deno.readTextFile(`${dir}/pattern`), "0 1000 0 0\n");
    // closed: the next restart opens the file again
    led.close();
    led.write("repeat", "1");
    assert.equal(await Deno.readTextFile(`${dir}/repeat`), "1yy\n");
  } finally {
    led.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sysfs LED class: a failed restart says which file and why, drops its descriptor, and the next opens afresh", async () => {
  const dir = await ledDir();
  const led = new SysfsLedClass(dir);
  try {
    await Deno.remove(`${dir}/repeat`);
    await Deno.symlink("/dev/full", `${dir}/repeat`); // every write fails: ENOSPC
    assert.throws(() => led.write("repeat", "1"), (e: unknown) => {
      assert.ok(e instanceof OsError);
      assert.equal(e.call, "write");
      assert.match(e.message, new RegExp(`write ${dir}/repeat: No space left on device`));
      return true;
    });
    await Deno.remove(`${dir}/repeat`);
    await Deno.writeTextFile(`${dir}/repeat`, "-1\n");
    led.write("repeat", "1");
    assert.equal(await Deno.readTextFile(`${dir}/repeat`), "11\n");
    assert.throws(() => led.write("nonesuch", "1"), /nonesuch/);
    const missing = new SysfsLedClass(`${dir}/gone`);
    assert.throws(
      () => missing.write("repeat", "1"),
      new RegExp(`open ${dir}/gone/repeat: No such file or directory`),
    );
  } finally {
    led.close();
    await Deno.remove(dir, { recursive: true });
  }
});
