/**
 * The Pi lab's run scaffold (`labRun` in _lab.ts), without QEMU: what every lab test relies on
 * for its tear-down. A passed run removes its work directory; a failed one keeps it, prints its
 * notes and rethrows; either way what it was given to stop is stopped, last given first.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import { labRun } from "./_lab.ts";

const board = PI_BOARDS["pi3b+"];
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
/** A stop (or note) that records its name in `done`. */
const recorder = (done: string[]) => (what: string) => () => {
  done.push(what);
  return Promise.resolve();
};

Deno.test("pi lab run: passed, its directory is removed and its stops run last given first", async () => {
  const done: string[] = [];
  const record = recorder(done);
  let dir = "";
  await labRun("unit", board, async (run) => {
    dir = run.dir;
    assert.ok(await exists(dir));
    assert.match(dir, /pi-lab-unit-/);
    assert.equal(run.board, board);
    run.atEnd(record("hub"));
    run.atEnd(record("second"));
    run.onFailure(record("failure note"));
  });
  assert.deepEqual(done, ["second", "hub"]);
  assert.equal(await exists(dir), false);
});

Deno.test("pi lab run: failed, its directory stays, its notes print, the error comes through", async () => {
  const done: string[] = [];
  const record = recorder(done);
  let dir = "";
  await assert.rejects(
    labRun("unit", board, (run) => {
      dir = run.dir;
      run.atEnd(record("hub"));
      run.onFailure(record("failure note"));
      return Promise.reject(new Error("the guest said no"));
    }),
    /the guest said no/,
  );
  assert.deepEqual(done, ["failure note", "hub"]);
  assert.ok(await exists(dir), "a failed run's directory is kept for a look");
  await Deno.remove(dir, { recursive: true });
});
