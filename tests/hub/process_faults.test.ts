/**
 * The process-level fault policy: with `installFaultPolicy` (hub/main.ts installs it) an
 * unhandled rejection and an exception thrown from a timer are logged with their stack and
 * counted, and the process goes on. Run in a child process, as Deno ends it otherwise.
 */
import assert from "node:assert/strict";

const MODULE = new URL("../../hub/process_faults.ts", import.meta.url).href;

async function runChild(install: boolean) {
  const script = `
    import { installFaultPolicy, processFaults } from "${MODULE}";
    ${install ? "installFaultPolicy();" : ""}
    Promise.reject(new Error("job record lost"));
    setTimeout(() => { throw new Error("timer went wrong"); }, 10);
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify(processFaults.unexpected));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("process faults: an unhandled rejection and a timer's exception are logged, counted, and the process goes on", async () => {
  const r = await runChild(true);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { rejection: 1, exception: 1 });
  assert.match(r.stderr, /unexpected promise rejection .*the hub goes on.*job record lost/);
  assert.match(r.stderr, /at .*\n/, "with its stack, for the log");
  assert.match(r.stderr, /unexpected exception .*timer went wrong/);
});

Deno.test("process faults: without the policy the same rejection ends the process (what the hub did)", async () => {
  const r = await runChild(false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Uncaught \(in promise\) Error: job record lost/);
});

Deno.test("process faults: the hub's entry point installs the policy", () => {
  const main = Deno.readTextFileSync(new URL("../../hub/main.ts", import.meta.url));
  assert.match(main, /^\s+installFaultPolicy\(\);$/m);
});
