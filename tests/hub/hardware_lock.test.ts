/** One hub per module: the control-plane lock refuses a second holder until released. */
import assert from "node:assert/strict";
import { acquireHardwareLock } from "../../hub/power/hardware_lock.ts";
import { ClusterError } from "../../shared/errors.ts";

Deno.test("the control-plane lock is exclusive and reusable after release", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/control-plane.lock`;
    const first = acquireHardwareLock(path);
    assert.throws(() => acquireHardwareLock(path), (e: unknown) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.code, "conflict");
      assert.match(e.message, /another hub is driving this module's control plane/);
      return true;
    });
    first.release();
    acquireHardwareLock(path).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the lock also holds against another process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/control-plane.lock`;
    const held = acquireHardwareLock(path);
    const code = `import { acquireHardwareLock } from "${
      new URL("../../hub/power/hardware_lock.ts", import.meta.url).href
    }";
      try { acquireHardwareLock(${
      JSON.stringify(path)
    }); Deno.exit(0); } catch (e) { console.log(e.message); Deno.exit(3); }`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.equal(r.code, 3, new TextDecoder().decode(r.stderr));
    assert.match(new TextDecoder().decode(r.stdout), /another hub is driving/);
    held.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a lock that cannot be created is a clear error", () => {
  assert.throws(
    () => acquireHardwareLock("/nonexistent-dir/control-plane.lock"),
    /cannot take the control-plane lock/,
  );
});
