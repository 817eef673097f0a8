/**
 * Confirmation before switching running nodes off: on a terminal `cm` asks (the real program
 * under a pseudo-terminal, util-linux `script`), `--yes` and `CM_ASSUME_YES=1` skip the
 * question, and without a terminal (a pipe) such a call is refused with exit 2 and says why.
 * Switching on, and switching off nodes that are off, never ask.
 */
import assert from "node:assert/strict";
import { readAnswer } from "../../hub/cli/confirm.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import { type ServedHub, withServedHub } from "../support/test_hub.ts";
import { runCm } from "../support/cm.ts";

const SCRIPT = "/usr/bin/script";
const CI = Deno.env.get("CI") === "true";
const haveScript = await Deno.stat(SCRIPT).then(() => true, () => false);
if (!haveScript && !CI) console.warn(`cm confirm pty test SKIPPED: ${SCRIPT} is missing`);

const CM = ["run", "--allow-net", "--allow-read", "--allow-env", "hub/cli/main.ts"];

function withServed(fn: (t: ServedHub) => Promise<void>) {
  return withServedHub({
    overrides: {
      sequencer: { stepMs: 1, cycleOffMs: 1 },
      // Runs in compressed time; without agents nobody boots, and nothing supervises it.
      timings: scaleTimings(VENDOR_TIMINGS, 0.001),
      recovery: false,
    },
  }, fn);
}

/** `cm` in-process; `answers` plays the person at the terminal (undefined: no terminal). */
function cm(
  t: ServedHub,
  args: string[],
  answers?: string[],
  extraEnv: Record<string, string> = {},
) {
  const env = { CM_HUB: t.url, CM_TOKEN: "test-admin-token", CM_DATA_DIR: "/nonexistent" };
  return runCm(args, { ...env, ...extraEnv }, answers);
}

function powered(t: ServedHub): number[] {
  return t.hub.status.nodes().filter((n) => n.power.actual === "on").map((n) => n.id);
}

Deno.test("cm asks before switching running nodes off or cycling them; --yes skips it", () =>
  withServed(async (t) => {
    // Switching on never asks, on a terminal or not.
    let r = await cm(t, ["powerall", "on", "1-4"], []);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.asked, []);
    r = await cm(t, ["power", "5", "on"]);
    assert.equal(r.code, 0, r.err);
    // No: nothing switched, exit 1.
    r = await cm(t, ["powerall", "off", "1-6"], ["n"]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.asked, [
      "cm powerall: switch off 5 nodes (1-5), which are on. Go ahead? [y/N] ",
    ]);
    assert.match(r.err, /not confirmed; nothing was switched/);
    assert.deepEqual(powered(t), [1, 2, 3, 4, 5]);
    // End of input (Ctrl-D) is a no.
    r = await cm(t, ["power", "3", "cycle"], []);
    assert.equal(r.code, 1);
    assert.match(r.asked[0], /power-cycle running node 3\. Go ahead\?/);
    // Yes: switched.
    r = await cm(t, ["power", "3", "off"], ["y"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(powered(t), [1, 2, 4, 5]);
    // --yes (anywhere) and -y: no question.
    r = await cm(t, ["--yes", "powerall", "off", "1", "2"], []);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.asked, []);
    r = await cm(t, ["power", "4", "off", "-y"], []);
    assert.equal(r.code, 0, r.err);
    // Off nodes only: nothing to interrupt, no question.
    r = await cm(t, ["powerall", "off", "1-4"], []);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.asked, []);
    // A self test and a bootstrap switch their set off: they ask too.
    r = await cm(t, ["testall", "5-6"], ["no"]);
    assert.equal(r.code, 1);
    assert.match(r.asked[0], /cm testall: switch off running node 5 \(the self test/);
    r = await cm(t, ["bootstrap", "4-5", "--skip-preflight"], [""]);
    assert.equal(r.code, 1, "an empty answer is no");
    assert.deepEqual(powered(t), [5]);
    // The bootstrap asks about exactly the bays its plan switches off: its set alone, or with
    // --others-off every bay.
    r = await cm(t, ["bootstrap", "1-2", "--skip-preflight"], ["n"]);
    assert.deepEqual(r.asked, [], "bays 1-2 are off, and 5 is outside the set: nothing to ask");
    assert.equal(r.code, 1, "no agents: degraded");
    assert.deepEqual(powered(t), [1, 2, 5], "it booted 1-2 and left 5 alone");
    r = await cm(t, ["bootstrap", "3", "--skip-preflight"], ["n"]);
    assert.deepEqual(r.asked, [], "bay 3 is off: nothing to ask (it boots 3)");
    r = await cm(t, ["bootstrap", "3", "--skip-preflight", "--others-off"], ["n"]);
    assert.equal(r.code, 1);
    assert.match(r.asked[0], /switch off 4 nodes \(1-3,5\), which are on \(the bootstrap/);
    assert.deepEqual(powered(t), [1, 2, 3, 5]);
  }));

Deno.test("without a terminal, switching running nodes off needs --yes or CM_ASSUME_YES=1 (exit 2)", () =>
  withServed(async (t) => {
    await cm(t, ["powerall", "on", "1-3"]);
    for (
      const args of [
        ["powerall", "off", "1-3"],
        ["powerall", "cycle", "2"],
        ["power", "2", "off"],
        ["testall", "1-3"],
        ["bootstrap", "1-3"],
        ["macs", "learn", "1-3"],
      ]
    ) {
      const r = await cm(t, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, /refusing without confirmation: not on a terminal/);
      assert.match(r.err, /--yes \(or set CM_ASSUME_YES=1\)/);
    }
    assert.deepEqual(powered(t), [1, 2, 3], "nothing was switched");
    const r = await cm(t, ["powerall", "off", "1-3"], undefined, { CM_ASSUME_YES: "1" });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(powered(t), []);
  }));

Deno.test("the answer is one line read from the terminal, bounded", async () => {
  const chunks = ["y", "es\nrest"].map((c) => new TextEncoder().encode(c));
  let shown = "";
  const read = (b: Uint8Array) => {
    const c = chunks.shift();
    if (!c) return Promise.resolve(null);
    b.set(c);
    return Promise.resolve(c.length);
  };
  assert.equal(await readAnswer("Go? ", (s) => (shown += s), read), "yes");
  assert.equal(shown, "Go? ");
  const long = new TextEncoder().encode("y".repeat(60));
  let n = 0;
  const endless = (b: Uint8Array) => {
    if (n++ > 100) return Promise.resolve(null);
    b.set(long);
    return Promise.resolve(long.length);
  };
  assert.equal((await readAnswer("? ", () => {}, endless, 16))?.length, 16);
});

/** Runs cm under a pseudo-terminal, answering `answer` once it asks. */
async function onPty(t: ServedHub, args: string[], answer: string) {
  const command = args.map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command(SCRIPT, {
    args: ["-q", "-e", "-c", `stty cols 100 rows 24; ${command}`, "/dev/null"],
    env: { CM_HUB: t.url, CM_TOKEN: "test-admin-token", NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const writer = child.stdin.getWriter();
  let answered = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    if (!answered && text.includes("Go ahead? [y/N]")) {
      answered = true;
      await writer.write(new TextEncoder().encode(`${answer}\n`));
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  await stderr;
  return { code: status.code, text };
}

Deno.test({
  name: "on a real terminal cm asks and waits for the answer; in a pipe it refuses with exit 2",
  ignore: !haveScript && !CI,
  fn: () =>
    withServed(async (t) => {
      await cm(t, ["powerall", "on", "1-2"]);
      const no = await onPty(t, [Deno.execPath(), ...CM, "powerall", "off", "1-2"], "n");
      assert.equal(no.code, 1, no.text);
      assert.match(no.text, /switch off 2 nodes \(1-2\), which are on\. Go ahead\? \[y\/N\] n/);
      assert.deepEqual(powered(t), [1, 2]);
      const yes = await onPty(t, [Deno.execPath(), ...CM, "powerall", "off", "1-2"], "y");
      assert.equal(yes.code, 0, yes.text);
      assert.match(yes.text, /off 1-2: done/);
      assert.deepEqual(powered(t), []);
      // The same program with stdin from a pipe: refused at once, exit 2.
      await cm(t, ["power", "2", "on"]);
      const child = new Deno.Command(Deno.execPath(), {
        args: [...CM, "power", "2", "off"],
        env: { CM_HUB: t.url, CM_TOKEN: "test-admin-token" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // The pipe stays open and says nothing: cm must not wait on it.
      const piped = await child.output();
      await child.stdin.close();
      const err = new TextDecoder().decode(piped.stderr);
      assert.equal(piped.code, 2, err);
      assert.match(err, /would switch off running node 2; refusing without confirmation/);
      assert.deepEqual(powered(t), [2]);
    }),
});
