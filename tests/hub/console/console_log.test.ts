/** The console history ring: lines with the time they began, bounded, persisted, 0600. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConsoleLog } from "../../../hub/console/console_log.ts";
import { SmallDisk } from "../../support/small_disk.ts";

const enc = new TextEncoder();

Deno.test("ConsoleLog: lines are stamped with the arrival of their first byte, partial last line kept", () => {
  const log = new ConsoleLog(null);
  log.append(1000, enc.encode("[    0.0] Booting Li"));
  log.append(1005, enc.encode("nux\r\nsecond line\r\nnode07 lo"));
  log.append(1010, enc.encode("gin: "));
  assert.deepEqual(log.tail(10), [
    { at: 1000, text: "[    0.0] Booting Linux" },
    { at: 1005, text: "second line" },
    { at: 1005, text: "node07 login: " },
  ]);
  assert.deepEqual(log.tail(1), [{ at: 1005, text: "node07 login: " }]);
  assert.equal(
    new TextDecoder().decode(log.tailBytes(2)),
    "second line\r\nnode07 login: ",
    "raw bytes of the newest lines, for a terminal",
  );
  assert.equal(log.bytes, "[    0.0] Booting Linux\r\nsecond line\r\nnode07 login: ".length);
});

Deno.test("ConsoleLog: bounded: the oldest lines go first, a single huge line loses its head", () => {
  const log = new ConsoleLog(null, 4096);
  for (let i = 0; i < 1000; i++) log.append(i, enc.encode(`line ${i}\n`));
  assert.ok(log.bytes <= 4096, `${log.bytes} bytes kept`);
  const lines = log.tail(10_000);
  assert.equal(lines.at(-1)!.text, "line 999");
  assert.ok(lines[0].text !== "line 0", "the oldest lines were dropped");
  // Consecutive: nothing lost in the middle.
  const first = Number(lines[0].text.split(" ")[1]);
  assert.deepEqual(lines.map((l) => l.text), lines.map((_, i) => `line ${first + i}`));

  const huge = new ConsoleLog(null, 1024);
  huge.append(1, new Uint8Array(5000).fill(0x41));
  assert.ok(huge.bytes <= 1024);
  assert.equal(huge.lineCount, 1);
});

Deno.test("ConsoleLog: survives a reopen (hub restart); file bounded, mode 0600; a torn record is dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-console-log-" });
  try {
    const path = join(dir, "node07.log");
    const log = new ConsoleLog(path, 8192);
    for (let i = 0; i < 2000; i++) log.append(5000 + i, enc.encode(`boot line ${i}\r\n`));
    log.append(9000, enc.encode("node07 login: "));
    const before = log.tail(100_000);
    log.close();
    const size = (await Deno.stat(path)).size;
    assert.ok(size <= 2 * 8192 + 64, `file stays bounded: ${size} bytes`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    const again = new ConsoleLog(path, 8192);
    assert.deepEqual(again.tail(100_000), before, "same lines, same timestamps");
    again.append(9100, enc.encode("pi\r\n"));
    assert.deepEqual(again.tail(1), [{ at: 9000, text: "node07 login: pi" }]);
    again.close();

    // A crash in the middle of a record: the torn tail is dropped, the rest is kept.
    const data = await Deno.readFile(path);
    const torn = new Uint8Array(data.length + 7);
    torn.set(data);
    torn.set([200, 0, 0, 0, 1, 2, 3], data.length);
    await Deno.writeFile(path, torn);
    const third = new ConsoleLog(path, 8192);
    assert.deepEqual(third.tail(1), [{ at: 9000, text: "node07 login: pi" }]);
    third.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConsoleLog: a full disk never reaches the console: kept in memory, the file catches up when space returns", async () => {
  const disk = await SmallDisk.mount(1);
  const path = join(disk.dir, "node07.log");
  try {
    const log = new ConsoleLog(path, 64 * 1024, 100);
    log.append(1000, enc.encode("before\r\n"));
    await disk.fill();
    const line = "x".repeat(1000);
    for (let i = 0; i < 50; i++) log.append(2000 + i, enc.encode(`${line} ${i}\r\n`)); // no throw
    assert.equal(log.tail(1)[0].text, `${line} 49`, "the history goes on in memory");
    await disk.free();
    await new Promise((r) => setTimeout(r, 150));
    log.append(3000, enc.encode("after\r\n"));
    log.close();
    const reread = new ConsoleLog(path);
    assert.deepEqual(reread.tail(2).map((l) => l.text), [`${line} 49`, "after"]);
    assert.equal(reread.tail(60)[0].text, "before");
    reread.close();
  } finally {
    await disk.unmount();
  }
});
