/**
 * shared/libc.ts, the one libc binding: loaded once, on first use; the calls the GPIO chardev,
 * I2C and serial console code make work on this machine; without FFI permission the modules
 * still load and the first device call fails with a clear error.
 */
import assert from "node:assert/strict";
import {
  cString,
  errno,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  strerror,
} from "../../shared/libc.ts";

const ENOENT = 2;
const EBADF = 9;
const ENOTTY = 25;
const POLLOUT = 0x4;

Deno.test("libc is opened once: every call returns the same symbols", () => {
  assert.equal(libc(), libc());
});

Deno.test("libc: open, write, read and close a file; a failed open sets errno", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "");
    const c = libc();
    const fd = c.open(cString(path), O_RDWR | O_CLOEXEC);
    assert.ok(fd >= 0, `open: ${strerror(errno())}`);
    const data = new TextEncoder().encode("pins");
    assert.equal(Number(c.write(fd, data, BigInt(data.length))), 4);
    assert.equal(c.close(fd), 0);
    assert.equal(await Deno.readTextFile(path), "pins");
    const again = c.open(cString(path), O_RDWR | O_CLOEXEC);
    const buf = new Uint8Array(8);
    assert.equal(Number(c.read(again, buf, BigInt(buf.length))), 4);
    assert.equal(new TextDecoder().decode(buf.subarray(0, 4)), "pins");
    c.close(again);

    assert.equal(c.open(cString(`${dir}/missing`), O_RDWR | O_CLOEXEC), -1);
    assert.equal(errno(), ENOENT);
    assert.match(strerror(ENOENT), /No such file or directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("libc: ioctl and termios calls report errno; poll waits off the event loop", async () => {
  const c = libc();
  assert.equal(c.ioctl_ulong(-1, 0x0703n, 0x20n), -1);
  assert.equal(errno(), EBADF);
  assert.equal(c.ioctl_ptr(-1, 0n, new Uint8Array(8)), -1);
  assert.equal(errno(), EBADF);
  const fd = c.open(cString("/dev/null"), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  assert.ok(fd >= 0);
  try {
    assert.equal(c.tcgetattr(fd, new Uint8Array(64)), -1, "/dev/null is no terminal");
    assert.equal(errno(), ENOTTY);
    const pfd = new Uint8Array(8);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLOUT, true);
    const waiting = c.poll(pfd, 1n, 1000);
    assert.ok(waiting instanceof Promise, "poll runs on a worker thread");
    assert.equal(await waiting, 1);
    assert.ok(v.getInt16(6, true) & POLLOUT);
  } finally {
    c.close(fd);
  }
});

Deno.test("without FFI permission the device modules load, and their first call says why", async () => {
  const url = (p: string) => new URL(`../../${p}`, import.meta.url).href;
  const code = `
    const { openDevI2cBus } = await import(${JSON.stringify(url("shared/pins/i2c/dev_i2c.ts"))});
    const { openChardevLine } = await import(${JSON.stringify(url("shared/pins/chardev.ts"))});
    const { SerialConsoleSource } = await import(${
    JSON.stringify(url("hub/console/serial_source.ts"))
  });
    const { DEFAULT_LINE } = await import(${JSON.stringify(url("hub/console/line_settings.ts"))});
    const shown = (e) => console.log(e.name + ": " + e.message);
    await openDevI2cBus(1).catch(shown);
    try { openChardevLine({ gpio: 21, direction: "in", chip: "/dev/null" }); } catch (e) { shown(e); }
    await new SerialConsoleSource("/dev/null", DEFAULT_LINE).open().catch(shown);
  `;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        "--allow-read",
        "--allow-env",
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 3, text);
    assert.match(lines[0], /^HardwareFault: I2C access \(\/dev\/i2c-N\): .*--allow-ffi/);
    assert.match(lines[1], /^GpioBackendError: chardev GPIO cannot be used here: .*--allow-ffi/);
    assert.match(lines[2], /^ClusterError: serial consoles: .*--allow-ffi/);
  } finally {
    await Deno.remove(file);
  }
});

/** Run by the test below in a `deno run` of its own: the sleeping thread is the main one there. */
const SLEEPER = `
import { sleepThread } from "${new URL("../../shared/libc.ts", import.meta.url).href}";
let heard = 0;
Deno.addSignalListener("SIGUSR1", () => heard++);
let t0 = performance.now();
const full = sleepThread(60);
const slept = performance.now() - t0;
console.log("ready");
t0 = performance.now();
const ranCourse = sleepThread(3000);
const cut = performance.now() - t0;
for (let i = 0; i < 100 && heard === 0; i++) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ full, slept, ranCourse, cut, heard }));
Deno.exit(0);
`;

Deno.test("libc: sleepThread blocks the thread for the time asked, and a signal's handler cuts it short", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--single-threaded", SLEEPER],
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let out = "";
  while (!out.includes("ready")) out += (await lines.next()).value ?? "";
  // 200 ms into its 3 s sleep
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGUSR1");
  while (!out.includes("}")) out += (await lines.next()).value ?? "";
  await child.status;
  const r = JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
  assert.equal(r.full, true);
  assert.ok(r.slept >= 59 && r.slept < 1_000, `slept ${r.slept} ms`);
  assert.equal(r.ranCourse, false, "cut short");
  assert.ok(r.cut >= 150 && r.cut < 2_000, `cut short after ${r.cut} ms`);
  assert.equal(r.heard, 1, "the listener ran when the loop did");
});
