/**
 * `cm` as a new user meets it: per-verb help, "did you mean", unknown flags named, a hub address
 * without a scheme, a missing token, counted nouns, the dry-run table, `cm job` with times and
 * `--wait`, `cm events`, `cm bay`, bash completion, activetest on running nodes and a stalled
 * manual boot in `cm status`.
 */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { COMMANDS } from "../../hub/cli/main.ts";
import { nodeIdArg } from "../../hub/cli/command.ts";
import { ClusterError } from "../../shared/errors.ts";
import { showEvents } from "../../hub/cli/verbs/events.ts";
import { ApiClient } from "../../hub/cli/api_client.ts";
import { realClock } from "../../shared/clock.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { Job } from "../../shared/schemas.ts";
import { sampleHeartbeat } from "../support/samples.ts";
import { type ServedHub, serveTestHub } from "../support/test_hub.ts";
import { CmProcess, runCm } from "../support/cm.ts";

function cm(
  t: ServedHub | null,
  args: string[],
  env: Record<string, string | undefined> = {},
) {
  return runCm(args, {
    CM_HUB: t?.url,
    CM_TOKEN: "test-admin-token",
    CM_DATA_DIR: "/nonexistent",
    ...env,
  });
}

async function withServed(
  fn: (t: ServedHub) => Promise<void>,
  opts: Parameters<typeof serveTestHub>[0] = {},
) {
  const t = await serveTestHub({
    ...opts,
    overrides: { sequencer: { stepMs: 1, cycleOffMs: 1 }, ...opts.overrides },
  });
  try {
    await fn(t);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

Deno.test("cm VERB --help, did you mean, and unknown flags named", async () => {
  let r = await cm(null, ["power", "--help"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^usage: cm power N on\|off\|cycle \[--supervise\]/);
  assert.match(r.out, /--supervise\s+supervise the boots/);
  assert.match(r.out, /--yes, -y/);
  r = await cm(null, ["events", "-h"]);
  assert.match(r.out, /^usage: cm events/);
  r = await cm(null, ["powr", "7", "on"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown verb "powr"; did you mean "power"\?/);
  r = await cm(null, ["stauts"]);
  assert.match(r.err, /did you mean "status"\?/);
  r = await cm(null, ["frobnicate"]);
  assert.doesNotMatch(r.err, /did you mean/);
  r = await cm(null, ["status", "--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^cm status: unknown flag --bogus; cm status takes no flags of its own/);
  r = await cm(null, ["powerall", "on", "1-4", "--dryrun"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown flag --dryrun \(did you mean --dry-run\?\)/);
  r = await cm(null, ["--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^cm: unknown flag --bogus/);
  r = await cm(null, ["console", "7", "--lines=5", "--log", "--nope=1"]);
  assert.match(r.err, /unknown flag --nope;/);
  // Every verb declares its flags (none: {}), so a stray flag is named for each of them.
  assert.deepEqual(COMMANDS.filter((c) => c.flags === undefined).map((c) => c.name), []);
});

Deno.test("a verb called with too few words answers with its whole usage, as --help shows it", async () => {
  // powerall takes cycle too: its short usage must not leave it out.
  let r = await cm(null, ["powerall"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^cm powerall: usage: powerall on\|off\|cycle FIRST LAST/);
  r = await cm(null, ["powerall", "cycle", "1", "2", "3"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage: powerall on\|off\|cycle/);
  // netboot without its sub-command is a usage question, not an 'unknown subcommand ""'.
  r = await cm(null, ["netboot"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^cm netboot: usage: netboot render/);
  assert.doesNotMatch(r.err, /""/);
  r = await cm(null, ["netboot", "frob"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown netboot subcommand "frob"/);
});

Deno.test("CM_HUB without a scheme is an address; a missing token is explained for cm", () =>
  withServed(async (t) => {
    const bare = t.url.replace(/^http:\/\//, "");
    let r = await cm(t, ["status", "1"], { CM_HUB: bare });
    assert.equal(r.code, 0, r.err);
    // The API's own base URL, pasted from the docs, names the same hub.
    for (const hub of [`${bare}/api/v1`, `${t.url}/api/v1/`]) {
      r = await cm(t, ["status", "1"], { CM_HUB: hub });
      assert.equal(r.code, 0, `${hub}: ${r.err}`);
    }
    // A bare host name names a hub of the hubs file; the message says how to write an address.
    r = await cm(t, ["status"], { CM_HUB: "localhost", CM_HUBS: "/nonexistent/hubs.json" });
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /no hub named "localhost".*for the hub at an address, add its port: localhost:4242/,
    );
    r = await cm(t, ["status"], { CM_HUB: "ftp://example" });
    assert.equal(r.code, 2);
    assert.match(r.err, /must be http:\/\/ or https:\/\//);
    r = await cm(t, ["power", "3", "on"], { CM_TOKEN: undefined });
    assert.equal(r.code, 1);
    assert.match(r.err, /cm found none \(looked at \$CM_TOKEN and \/nonexistent\/token/);
    assert.match(r.err, /--token TOKEN, set CM_TOKEN, or set CM_DATA_DIR/);
    assert.doesNotMatch(r.err, /-H |curl|Authorization:/, "no curl header for cm users");
  }));

Deno.test("counted nouns, the dry-run table's columns, and rails already on in a dry run", () =>
  withServed(async (t) => {
    let r = await cm(t, ["testall", "1"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /self test passed: 1 node on 1 bus in/);
    r = await cm(t, ["powerall", "on", "1-3"]);
    assert.equal(r.code, 0, r.err);
    r = await cm(t, ["powerall", "on", "1-6", "--dry-run"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^already on, left as they are: 1-3$/m);
    assert.match(r.out, /window 1: 2 nodes on BitBar 1$/m);
    assert.match(r.out, /window 2: 1 node on BitBar 1$/m);
    r = await cm(t, ["powerall", "cycle", "1-2", "--dry-run"]);
    const rows = r.out.split("\n").filter((l) => /^\s+\+\d/.test(l));
    assert.ok(rows.length >= 2, r.out);
    // The off row and the on rows: the same columns.
    const cols = rows.map((l) => [l.indexOf("+"), l.search(/(off|on) /), l.search(/ \d+(-\d+)? /)]);
    assert.ok(cols.every((c) => c[0] === cols[0][0] && c[1] === cols[0][1]), r.out);
  }));

Deno.test("cm job shows times and --wait follows it to its end; cm events; cm bay", () =>
  withServed(async (t) => {
    const started = await t.call("POST", "/api/v1/activetest", { nodes: "1", timeoutMs: 700 });
    const job = Job.parse(await started.json());
    let r = await cm(t, ["job", job.id]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /started \d\d:\d\d:\d\d, running for \d+\.\d s/);
    assert.match(r.out, new RegExp(`follow it to its end: cm job ${job.id} --wait`));
    r = await cm(t, ["job", job.id, "--wait"]);
    assert.equal(r.code, 1, "the job failed (no agent): --wait says so");
    assert.equal(t.hub.jobs.get(job.id).state, "failed", "it waited for the end");
    assert.match(r.out, /failed activetest 1; started \d\d:\d\d:\d\d, took 0\.\d s/);
    r = await cm(t, ["job"]);
    assert.match(
      r.out,
      new RegExp(`^${job.id} failed\\s+\\d\\d:\\d\\d:\\d\\d\\s+0\\.\\d s activetest`, "m"),
    );

    r = await cm(t, ["events", "--lines", "3"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split("\n").length, 3, r.out);
    r = await cm(t, ["events", "--limit", "2"]); // cm -A events' flag, the same verb
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split("\n").length, 2, r.out);
    r = await cm(t, ["events", "1"]);
    assert.ok(r.out.split("\n").every((l) => l.includes("node 1: ")), r.out);

    // -f: new events are printed as they come, until stopped.
    const lines: string[] = [];
    const ac = new AbortController();
    const ctx = {
      api: new ApiClient({ baseUrl: t.url }),
      args: [],
      json: false,
      out: (l: string) => lines.push(l),
      err: () => {},
    };
    const following = showEvents(ctx, { follow: true, lines: 1, set: "9" }, ac.signal);
    await new Promise((r) => setTimeout(r, 300));
    await t.call("POST", "/api/v1/nodes/9/led", { mode: "identify" });
    const deadline = Date.now() + 5000;
    while (!lines.some((l) => /led_changed\s+node 9:/.test(l)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    ac.abort();
    await following;
    assert.ok(lines.some((l) => /led_changed\s+node 9:/.test(l)), lines.join("\n"));

    r = await cm(t, ["bay", "disable", "17-22,24-29"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^disabled: 17-22,24-29$/m);
    assert.equal(t.hub.status.node(17).enabled, false);
    r = await cm(t, ["bay", "enable", "17"]);
    assert.match(r.out, /^disabled: 18-22,24-29$/m);
    r = await cm(t, ["bay", "toggle", "3"]);
    assert.equal(r.code, 2);
  }));

Deno.test("cm completion bash completes verbs, their words and flags", async () => {
  const r = await cm(null, ["completion", "bash"]);
  assert.equal(r.code, 0, r.err);
  const complete = async (line: string) => {
    const words = line.split(" ");
    const script = `${r.out}\nCOMP_WORDS=(${
      words.map((w) => `'${w}'`).join(" ")
    })\nCOMP_CWORD=${(words.length - 1)}\n_cm\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l);
  };
  assert.deepEqual((await complete("cm pow")).sort(), ["power", "power-health", "powerall"]);
  assert.deepEqual(await complete("cm power 7 c"), ["cycle"]);
  assert.deepEqual(await complete("cm powerall on 1-4 --d"), ["--dry-run"]);
  assert.deepEqual(await complete("cm --json events -"), [
    "-f",
    "--follow",
    "--lines",
    "--limit",
    "--hub",
    "--token",
    "--json",
    "--yes",
    "--help",
  ]);
  assert.deepEqual(await complete("cm --hub h:1 st"), ["status"]);
  assert.equal((await cm(null, ["completion", "fish"])).code, 2);
});

Deno.test("cm activetest on running nodes says they were running, not 'up in 0.0 s'", () =>
  withServed(async (t) => {
    await t.call("POST", "/api/v1/nodes/4/power", { state: "on" });
    // Node 4's agent reports: it runs.
    const deadline = Date.now() + 5000;
    for (
      let seq = 0;
      t.hub.status.node(4).lifecycle !== "running" && Date.now() < deadline;
      seq++
    ) {
      await t.call("POST", "/api/v1/agent/heartbeat", sampleHeartbeat(4, { seq }), {
        auth: t.hub.agentKey.value,
      });
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(t.hub.status.node(4).lifecycle, "running");
    const r = await cm(t, ["activetest", "4"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /node {2}4: already running \(not switched, not timed\)/);
    assert.doesNotMatch(r.out, /up in 0\.0 s/);
    assert.match(r.out, /1\/1 nodes up \(1 already running\)/);
  }));

Deno.test("cm status shows a stalled manual boot as stalled, not booting for ever", () =>
  withServed(async (t) => {
    let r = await cm(t, ["power", "5", "on"]);
    assert.equal(r.code, 0, r.err);
    const deadline = Date.now() + 5000;
    while (t.hub.boot.timelines(5).latest?.state !== "stalled" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    r = await cm(t, ["status", "5"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\s+5\s+1\s+5 node05 .* on\s+stalled\s/m);
    assert.match(r.out, /stalled boots .*: 5 before heartbeat/);
  }, {
    overrides: {
      power: new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 1 }),
      bootTimeouts: {
        dhcp_discover: 100,
        dhcp_ack: 150,
        tftp: 200,
        heartbeat: 300,
        running: 400,
      },
      netbootObserved: false,
      recovery: false,
    },
  }));

Deno.test("Ctrl-C during cm job ID --wait stops watching (130) and leaves the job running", () =>
  withServed(async (t) => {
    const started = await t.call("POST", "/api/v1/activetest", { nodes: "1", timeoutMs: 60_000 });
    const job = Job.parse(await started.json());
    const cm = new CmProcess(t.url, ["job", job.id, "--wait"]);
    await cm.waitForErr(/\] 0\/1 activetest/);
    cm.kill("SIGINT");
    const { code, err } = await cm.finish();
    assert.equal(code, 130, err);
    assert.equal(t.hub.jobs.get(job.id).state, "running", "the job goes on");
    assert.doesNotMatch(err, /cancelling job/);
    await t.call("POST", `/api/v1/jobs/${job.id}/cancel`);
    await t.hub.jobs.wait(job.id);
  }));

Deno.test("cm: a node id argument is digits only, refused with a typed error before any URL is built (power, boot, node)", () => {
  assert.equal(nodeIdArg("07"), "07");
  for (const bad of ["abc", "3/../x", "-1", "1.5", " 7", ""]) {
    assert.throws(() => nodeIdArg(bad), (e: unknown) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.code, "invalid_node");
      assert.equal(e.message, `"${bad}" is not a node id: use a whole number`);
      return true;
    });
  }
});
