/** The `cm` CLI against a hub served on a random loopback port. */
import assert from "node:assert/strict";
import { runCli } from "../../hub/cli/main.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../hub/cluster/runs/bootstrap.ts";
import { NodeStatus } from "../../shared/schemas.ts";
import { type ServedHub, withServedHub } from "../support/test_hub.ts";
import { z } from "zod";
import { CM_PROCESS_ARGS, CmProcess, runCm } from "../support/cm.ts";

function cm(t: ServedHub, args: string[], token: string | undefined = "test-admin-token") {
  return runCm(args, { CM_HUB: t.url, CM_TOKEN: token, CM_DATA_DIR: "/nonexistent" });
}

function withServed(fn: (t: ServedHub) => Promise<void>) {
  return withServedHub({}, fn);
}

Deno.test("cm power / powerall / status drive the hub like the vendor tools", () =>
  withServed(async (t) => {
    let r = await cm(t, ["power", "7", "on"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /on 7: done/);
    r = await cm(t, ["powerall", "on", "1", "16"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /\[#+\] 16\/16 power on 1-16/, "progress bar shown");
    r = await cm(t, ["powerall", "on", "23,30-32"]);
    assert.equal(r.code, 0, r.err);
    r = await cm(t, ["status"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^\s+7\s+2\s+1 node07\s+10\.42\.0\.7\s+pi3b\+\s+on\s+booting/m);
    assert.match(r.out, /^\s+17\s+3\s+5 node17\s+10\.42\.0\.17\s+pi0w\s+off\s+off/m);
    assert.match(r.out, /20 on, 0 running, 0 lost, 0 fault of 60/);
    r = await cm(t, ["--json", "status", "30-32"]);
    const nodes = z.array(NodeStatus).parse(JSON.parse(r.out));
    assert.deepEqual(nodes.map((n) => [n.id, n.power.actual]), [[30, "on"], [31, "on"], [
      32,
      "on",
    ]]);
    r = await cm(t, ["powerall", "off", "1", "60", "--yes"]);
    assert.equal(r.code, 0, r.err);
    const after = z.array(NodeStatus).parse(await (await fetch(`${t.url}/api/v1/nodes`)).json());
    assert.equal(after.filter((n) => n.power.actual === "on").length, 0);
  }));

Deno.test("cm debugled sets the LED request; cm led is debugled on one hub too, as cm -A led is on every hub", () =>
  withServed(async (t) => {
    for (const [verb, mode] of [["debugled", "identify"], ["led", "on"]]) {
      const r = await cm(t, [verb, "12", mode]);
      assert.equal(r.code, 0, r.err);
      const n = NodeStatus.parse(await (await fetch(`${t.url}/api/v1/nodes/12`)).json());
      assert.equal(n.ledRequested, mode, verb);
    }
    const help = await cm(t, ["led", "--help"]);
    assert.match(help.out, /^usage: cm debugled N/);
  }));

Deno.test("cm reports user errors clearly with non-zero exit codes", () =>
  withServed(async (t) => {
    let r = await cm(t, ["power", "61", "on"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /node 61 does not exist/);
    r = await cm(t, ["power", "3", "sideways"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /expected on, off or cycle/);
    r = await cm(t, ["powerall", "on", "60-1"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /runs backwards/);
    // A script's empty $SET is a bad node set (exit 2), not a failed operation.
    r = await cm(t, ["powerall", "on", ""]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^cm powerall: empty node set/);
    r = await cm(t, ["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown verb "frobnicate"/);
    r = await cm(t, ["power", "3", "on"], "wrong-token");
    assert.equal(r.code, 1);
    assert.match(r.err, /not valid/);
    r = await cm(t, ["--json", "power", "3", "on"], "wrong-token");
    assert.equal(JSON.parse(r.out).error.code, "unauthorized");
    r = await cm(t, ["--bogus"]);
    assert.equal(r.code, 2);
    const n3 = NodeStatus.parse(await (await fetch(`${t.url}/api/v1/nodes/3`)).json());
    assert.equal(n3.power.actual, "off");
  }));

Deno.test("cm says clearly when the hub is not reachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const err: string[] = [];
  const code = await runCli(
    ["status"],
    { out: () => {}, err: (l) => err.push(l) },
    (n) => n === "CM_HUB" ? `http://127.0.0.1:${port}` : undefined,
  );
  assert.equal(code, 1);
  assert.match(err.join("\n"), /cannot reach the hub at http:\/\/127\.0\.0\.1:\d+/);
});

/** Runs the CLI entry point as its own process, with the permissions `deno task cm` gives. */
async function cmProcess(t: ServedHub, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...CM_PROCESS_ARGS, ...args],
    env: { CM_HUB: t.url, CM_TOKEN: "test-admin-token" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

Deno.test("the cm entry point runs as a process (deno task cm)", () =>
  withServed(async (t) => {
    const ok = await cmProcess(t, ["power", "9", "on"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /on 9: done/);
    const bad = await cmProcess(t, ["power", "0", "on"]);
    assert.equal(bad.code, 2);
    const stderr = bad.stderr;
    assert.match(stderr, /node 0 does not exist/);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/);
  }));

Deno.test("global options may stand anywhere; verb flags reach the verb", async () => {
  const { splitGlobalOptions } = await import("../../hub/cli/main.ts");
  assert.deepEqual(splitGlobalOptions(["status", "--json", "--hub", "http://h:1", "1-3"]), {
    json: true,
    help: false,
    yes: false,
    hub: "http://h:1",
    rest: ["status", "1-3"],
  });
  assert.deepEqual(splitGlobalOptions(["--token=abc", "node", "reset", "4", "--force"]), {
    json: false,
    help: false,
    yes: false,
    token: "abc",
    rest: ["node", "reset", "4", "--force"],
  });
  assert.throws(() => splitGlobalOptions(["status", "--hub"]), /--hub needs a value/);
});

Deno.test("cm cancel stops a running job; cm reports where a rejected token came from", () =>
  withServed(async (t) => {
    const res = await fetch(`${t.url}/api/v1/activetest`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ nodes: "1-2", timeoutMs: 600_000 }),
    });
    const job = await res.json();
    const r = await cm(t, ["cancel", job.id]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /cancel requested/);
    const done = await t.hub.jobs.wait(job.id);
    assert.equal(done.errorCode, "cancelled");
    const bad = await cm(t, ["power", "3", "on"], "wrong-token");
    assert.match(bad.err, /the token came from \$CM_TOKEN/);
  }));

Deno.test("Ctrl-C pressed as a burst (process group) cancels the job on the hub before cm exits", () =>
  withServed(async (t) => {
    const cm = new CmProcess(t.url, ["activetest", "1-2"]);
    try {
      await cm.waitForErr(/\] 0\/2 activetest/);
      const running = t.hub.jobs.list().find((j) => j.kind === "activetest");
      assert.ok(running, "the job runs on the hub");
      // One press under `deno task`: the terminal signals every process of the group.
      for (let i = 0; i < 3; i++) {
        cm.kill("SIGINT"); // if it exited early, the assertions below say how
        await new Promise((r) => setTimeout(r, 40));
      }
      const { code, out, err } = await cm.finish();
      assert.equal(code, 1, `cm exits 1 (job failed: cancelled)\n${err}\n${out}`);
      const job = await t.hub.jobs.wait(running.id);
      assert.equal(job.state, "failed");
      assert.equal(job.errorCode, "cancelled", job.error ?? "");
      assert.match(err, /cancel of job .* accepted by the hub/);
      assert.doesNotMatch(err, /stopped watching/);
    } finally {
      cm.kill("SIGKILL");
      await cm.child.status;
    }
  }));

Deno.test("cm testall cancelled mid-run says so and lists the untested nodes, not FAILED", async () => {
  const timings = scaleTimings(VENDOR_TIMINGS, 0.001);
  await withServedHub({
    overrides: { timings: { ...timings, selfTest: { stepMs: 20, holdMs: 10 } } },
  }, async (t) => {
    const cancelling = (async () => {
      for (;;) {
        const job = t.hub.jobs.list().find((j) => j.kind === "testall");
        if (job && job.progress.done >= 5) {
          await t.call("POST", `/api/v1/jobs/${job.id}/cancel`);
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const r = await cm(t, ["testall"]);
    await cancelling;
    assert.equal(r.code, 1, r.err);
    assert.doesNotMatch(r.out, /FAILED/);
    assert.match(r.out, /^self test cancelled: \d+ of 60 nodes tested, .*; untested: \d+-60$/m);
    assert.match(r.out, /^bus 10: untested 55-60$/m);
    assert.match(r.err, /error: the self test was cancelled on request: \d+ of 60 nodes tested/);
  });
});

Deno.test("cm bootstrap cancelled in its first stage says 'bootstrap cancelled' and the stage, not 'failed'", async () => {
  await withServedHub({
    overrides: { timings: { ...scaleTimings(VENDOR_TIMINGS, 0.001), fabricMs: 10_000 } },
  }, async (t) => {
    const cancelling = (async () => {
      for (;;) {
        const job = t.hub.jobs.list().find((j) => j.kind === "bootstrap");
        if (job) {
          await t.call("POST", `/api/v1/jobs/${job.id}/cancel`);
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const r = await cm(t, ["bootstrap"]);
    await cancelling;
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^bootstrap cancelled$/m);
    assert.doesNotMatch(r.out, /bootstrap failed/);
    assert.match(r.err, /error: the bootstrap \(in stage [a-z ]+\) was cancelled on request/);
  });
});

Deno.test("cm bootstrap SET --dry-run names what it switches off and what it leaves alone", () =>
  withServed(async (t) => {
    let r = await cm(t, ["bootstrap", "1-12", "--dry-run"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /dry run: bootstrap 1-12 — nothing is switched/);
    assert.match(r.out, /switches off: 1-12\n/);
    assert.match(r.out, /leaves untouched: 13-60 \(--others-off would switch them off\)/);
    assert.match(r.out, /\+0\.0 s {2}fabric/);
    r = await cm(t, ["bootstrap", "1-12", "--others-off", "--dry-run"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /switches off: 1-60 \(--others-off\)/);
    assert.match(r.out, /leaves untouched: none/);
    const nodes = z.array(NodeStatus).parse(await (await fetch(`${t.url}/api/v1/nodes`)).json());
    assert.ok(nodes.every((n) => n.power.actual === "off"), "a dry run switches nothing");
    assert.equal((await fetch(`${t.url}/api/v1/jobs`).then((x) => x.json())).length, 0);
  }));

Deno.test("cm --json: a mistake found before the hub is asked is JSON on stdout too (unknown verb or flag, a verb's unknown flag, a bad global option), exit 2", async () => {
  for (
    const [argv, message] of [
      [["--json", "powr", "7", "on"], /^unknown verb "powr"; did you mean "power"\?$/],
      [["--json", "--bogus"], /^unknown flag --bogus$/],
      [["--json", "power", "7", "on", "--nope"], /--nope/],
      [["--json", "--timeout", "soon", "status"], /timeout/],
    ] as const
  ) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      [...argv],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
      (n) => n === "CM_HUB" ? "http://127.0.0.1:9" : undefined,
    );
    assert.equal(code, 2, argv.join(" "));
    assert.equal(out.length, 1, `${argv.join(" ")}: ${out.join("\n")}`);
    const e = JSON.parse(out[0]).error;
    assert.equal(e.code, "bad_request");
    assert.match(e.message, message);
    assert.ok(err.join("\n").length > 0, "the text is still on stderr");
  }
});
