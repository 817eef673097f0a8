/** One hub per module: the control-plane lock refuses a second holder until released. */
import assert from "node:assert/strict";
import { acquireHardwareLock } from "../../hub/power/hardware_lock.ts";
import { ControlPlaneLockError } from "../../hub/power/errors.ts";
import { layerErrorCode } from "../../hub/http/errors.ts";

Deno.test("the control-plane lock is exclusive and reusable after release", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/control-plane.lock`;
    const first = acquireHardwareLock(path);
    assert.throws(() => acquireHardwareLock(path), (e: unknown) => {
      assert.ok(e instanceof ControlPlaneLockError);
      assert.ok(e.held);
      assert.equal(layerErrorCode(e), "conflict");
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
    (e: unknown) =>
      e instanceof ControlPlaneLockError && !e.held && layerErrorCode(e) === "bad_request" &&
      /cannot take the control-plane lock/.test(e.message),
  );
});
