/**
 * `cm bootstrap` as a person and as a script see it: the real program under a pseudo-terminal
 * (util-linux `script`) redraws its progress line in place and counts the fabric stage down;
 * with stderr in a pipe it prints plain lines, one per step, without terminal control codes.
 */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { realClock } from "../../shared/clock.ts";
import { type ServedHub, withServedHub } from "../support/test_hub.ts";
import { CM_PROCESS_ARGS } from "../support/cm.ts";

const SCRIPT = "/usr/bin/script";
const CI = Deno.env.get("CI") === "true";
const haveScript = await Deno.stat(SCRIPT).then(() => true, () => false);
if (!haveScript && !CI) console.warn(`cm terminal test SKIPPED: ${SCRIPT} (util-linux) is missing`);

const CM = CM_PROCESS_ARGS;

/** A served hub whose bootstrap waits 3.5 s for the fabric, then runs fast. */
function withHub(fn: (t: ServedHub) => Promise<void>) {
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 0 });
  return withServedHub({
    overrides: {
      power: sim,
      timings: { ...scaleTimings(VENDOR_TIMINGS, 0.001), fabricMs: 3500 },
      sequencer: { stepMs: 1, cycleOffMs: 1 },
      // No agents run here: without supervision the silent nodes end the bootstrap at once
      // (tests/e2e/boot_recovery.test.ts has the supervised one).
      recovery: false,
    },
  }, fn);
}

function quote(args: string[]): string {
  return args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}

Deno.test({
  name: "cm bootstrap on a terminal: one progress line redrawn in place, counting the fabric down",
  ignore: !haveScript && !CI,
  fn: () =>
    withHub(async (t) => {
      // A pseudo-terminal without a parent terminal has no size: give it the classic 80 columns.
      const command = `stty cols 80 rows 24; ${
        quote([Deno.execPath(), ...CM, "bootstrap", "1-4"])
      }`;
      const out = await new Deno.Command(SCRIPT, {
        // -q: no start/done banner; -e: its exit code is cm's; the typescript goes nowhere.
        args: ["-q", "-e", "-c", command, "/dev/null"],
        env: { CM_HUB: t.url, CM_TOKEN: "test-admin-token", NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 1, `degraded (no agents): exit 1\n${text}`);
      const redraws = text.split("\r\x1b[2K").length - 1;
      assert.ok(redraws >= 5, `redrawn in place (${redraws} times):\n${JSON.stringify(text)}`);
      const left = [...text.matchAll(/fabric: waiting for the switch, (\d+) s left/g)]
        .map((m) => Number(m[1]));
      assert.ok(new Set(left).size >= 3, `the fabric stage counts down: ${left}`);
      assert.ok(left[0] >= left.at(-1)! + 2, `down, not up: ${left}`);
      // Each redraw fits the 80 columns (the bar narrows first, so the step stays readable).
      const drawn = text.split("\r\x1b[2K").slice(1).map((s) => s.split("\r\n")[0]);
      const long = drawn.filter((s, i) => i < drawn.length - 1 && [...s].length > 77);
      assert.deepEqual(long, [], "no redraw wider than the terminal");
      // The terminal turns "\n" into "\r\n". Lines that end: the final bar and the report.
      const lines = text.split("\r\n").filter((l) => l !== "");
      const bars = lines.filter((l) => l.includes("] 5/5 bootstrap 1-4"));
      assert.equal(bars.length, 1, `the final bar stays, once:\n${lines.join("\n")}`);
      assert.ok(lines.length <= 4, `no line per step: ${lines.length} lines\n${lines.join("\n")}`);
      assert.match(text, /\r\n.*bootstrap degraded: 0\/4 nodes running/);
    }),
});

Deno.test("cm bootstrap into a pipe: plain lines, one per step, no control codes", () =>
  withHub(async (t) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...CM, "bootstrap", "1-4"],
      env: { CM_HUB: t.url, CM_TOKEN: "test-admin-token", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, err);
    assert.ok(!err.includes("\r") && !err.includes("\x1b"), "no carriage returns or escapes");
    const lines = err.split("\n").filter((l) => l !== "");
    const fabric = lines.filter((l) => l.includes("fabric: waiting for the switch"));
    assert.equal(fabric.length, 1, `the countdown alone makes no new line:\n${err}`);
    assert.match(fabric[0], /\] 0\/5 bootstrap 1-4: fabric: waiting for the switch, [34] s left$/);
    assert.match(lines.at(-2) ?? "", /\] 5\/5 bootstrap 1-4: degraded$/, "the last bar");
    assert.match(lines.at(-1) ?? "", /^error: bootstrap degraded/);
    assert.ok(lines.length <= 8, `a line per step at most:\n${err}`);
  }));
