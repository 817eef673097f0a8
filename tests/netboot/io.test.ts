import assert from "node:assert/strict";
import { writeFileAtomic } from "../../hub/netboot/runtime/atomic_write.ts";
import { DenoProcessRunner } from "../../hub/netboot/runtime/process_runner.ts";
import { FakeProcessRunner } from "../support/fakes/fake_process_runner.ts";

Deno.test("writeFileAtomic replaces by rename, sets the mode, leaves no temp file, skips no-ops", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/dhcp-hosts`;
    assert.equal(await writeFileAtomic(path, "one\n", 0o600), true);
    const inode1 = (await Deno.stat(path)).ino;
    assert.equal(await writeFileAtomic(path, "two\n", 0o644), true);
    const st = await Deno.stat(path);
    assert.notEqual(st.ino, inode1, "a new inode: the file was renamed into place, not rewritten");
    assert.equal(st.mode! & 0o777, 0o644);
    assert.equal(await Deno.readTextFile(path), "two\n");
    assert.equal(await writeFileAtomic(path, "two\n", 0o644), false);
    assert.equal((await Deno.stat(path)).ino, st.ino);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["dhcp-hosts"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the real and the fake ProcessRunner agree on exits, stderr and missing commands", async () => {
  const real = new DenoProcessRunner();
  const child = real.spawn("sh", ["-c", "echo 'dnsmasq: bad config' >&2; exit 3"]);
  assert.ok(child.pid > 0);
  assert.deepEqual(await child.status, { code: 3, signal: null });
  assert.match(child.stderrTail(), /dnsmasq: bad config/);
  assert.throws(() => real.spawn("/nonexistent/dnsmasq", []), Deno.errors.NotFound);
  assert.equal((await real.run("/nonexistent/exportfs", ["-ra"])).code, 127);
  const ok = await real.run("sh", ["-c", "echo hi"]);
  assert.deepEqual(ok, { code: 0, stdout: "hi\n", stderr: "" });

  const fake = new FakeProcessRunner();
  assert.throws(() => fake.spawn("dnsmasq", []), Deno.errors.NotFound);
  assert.equal((await fake.run("exportfs", ["-ra"])).code, 127);
  fake.spawnable.add("dnsmasq");
  fake.spawn("dnsmasq", []);
  const f = fake.last!;
  f.exit(3, "dnsmasq: bad config\n");
  assert.deepEqual(await f.status, { code: 3, signal: null });
  assert.match(f.stderrTail(), /dnsmasq: bad config/);
});

Deno.test("a real child killed with SIGTERM reports the signal", async () => {
  const child = new DenoProcessRunner().spawn("sleep", ["30"]);
  child.kill("SIGTERM");
  const st = await child.status;
  assert.equal(st.signal, "SIGTERM");
  child.kill("SIGTERM"); // after exit: ignored, no throw
});
