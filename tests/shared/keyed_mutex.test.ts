import assert from "node:assert/strict";
import { KeyedMutex } from "../../shared/keyed_mutex.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

Deno.test("KeyedMutex: one key runs in call order, one at a time, past failures", async () => {
  const m = new KeyedMutex<number>();
  const log: string[] = [];
  const task = (name: string, fail = false) => async () => {
    log.push(`${name} start`);
    await tick();
    log.push(`${name} end`);
    if (fail) throw new Error(name);
    return name;
  };
  const a = m.run(1, task("a", true));
  const b = m.run(1, task("b"));
  await assert.rejects(a, /a/);
  assert.equal(await b, "b");
  assert.deepEqual(log, ["a start", "a end", "b start", "b end"]);
});

Deno.test("KeyedMutex: different keys run side by side", async () => {
  const m = new KeyedMutex<string>();
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(`${name} start`);
    await tick();
    log.push(`${name} end`);
  };
  await Promise.all([m.run("x", task("x")), m.run("y", task("y"))]);
  assert.deepEqual(log.slice(0, 2), ["x start", "y start"]);
});
