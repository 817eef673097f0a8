import assert from "node:assert/strict";
import { KeptFileReader, readSmallSync } from "../../node-agent/fs_root.ts";
import { readHealth } from "../../node-agent/identity.ts";

const FIXTURES = new URL("../fixtures/pi/", import.meta.url).pathname;

Deno.test("kept health files: the same figures as open-read-close, one descriptor a file", async () => {
  const files = new KeptFileReader();
  try {
    for (const name of ["pi3b+", "pi0w", "pi4", "pi3b-cpuinfo-only"]) {
      const root = `${FIXTURES}${name}`;
      assert.deepEqual(await readHealth(root, null, files), await readHealth(root, null));
      assert.deepEqual(await readHealth(root, null, files), await readHealth(root, null), "again");
    }
    assert.ok(files.open > 0 && files.open <= 4 * 5, `${files.open} descriptors`);
  } finally {
    files.close();
  }
  assert.equal(files.open, 0);
});

Deno.test("kept file: each read sees the file's content now (rewritten in place, /proc)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "kept-files-" });
  const files = new KeptFileReader();
  try {
    Deno.writeTextFileSync(`${dir}/temp`, "48312\n");
    assert.equal(files.read(dir, "/temp"), "48312");
    Deno.writeTextFileSync(`${dir}/temp`, "50000\n"); // truncated and rewritten, same file
    assert.equal(files.read(dir, "/temp"), "50000");
    Deno.writeTextFileSync(`${dir}/temp`, "x".repeat(10_000)); // over the first buffer
    assert.equal(files.read(dir, "/temp"), "x".repeat(10_000));
    const a = files.read("/", "/proc/uptime")!;
    const t = performance.now();
    while (performance.now() - t < 30) { /* /proc/uptime counts in 10 ms steps */ }
    assert.notEqual(files.read("/", "/proc/uptime"), a, "generated anew on each read");
    assert.equal(files.open, 2);
    assert.equal(files.read(dir, "/missing"), undefined);
    const absent = new Set<string>();
    assert.equal(files.read(dir, "/missing", absent), undefined);
    assert.ok(absent.has(`${dir}/missing`));
    assert.equal(files.open, 2);
  } finally {
    files.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kept file: a read that fails on the kept descriptor reopens the file at once", async () => {
  // /proc/PID/stat of a process that exits: the kept descriptor's read fails (ESRCH), and the
  // file is gone, as a sysfs attribute whose device went away
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const path = `/proc/${child.pid}/stat`;
  const files = new KeptFileReader();
  try {
    assert.match(files.read("/", path)!, new RegExp(`^${child.pid} \\(sleep\\)`));
    assert.equal(files.open, 1);
    child.kill("SIGKILL");
    await child.status;
    assert.equal(readSmallSync("/", path), undefined, "gone for open-read-close");
    assert.equal(files.read("/", path), undefined, "and for the kept reader");
    assert.equal(files.open, 0, "the failed descriptor is closed, not kept");
    // a file that comes back is opened again
    const dir = Deno.makeTempDirSync({ prefix: "kept-files-" });
    try {
      assert.equal(files.read(dir, "/v"), undefined);
      Deno.writeTextFileSync(`${dir}/v`, "1\n");
      assert.equal(files.read(dir, "/v"), "1");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  } finally {
    files.close();
  }
});
