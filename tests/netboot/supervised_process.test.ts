import assert from "node:assert/strict";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { FakeProcessRunner } from "../support/fakes/fake_process_runner.ts";
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  type ServiceStatus,
  SupervisedProcess,
} from "../../hub/netboot/runtime/supervised_process.ts";

const policy = { initialMs: 1000, maxMs: 8000, factor: 2, stableMs: 30_000, maxFailures: 6 };

function setup() {
  const clock = new FakeClock();
  const runner = new FakeProcessRunner();
  runner.spawnable.add("dnsmasq");
  const states: ServiceStatus[] = [];
  const proc = new SupervisedProcess({
    name: "dnsmasq",
    cmd: "dnsmasq",
    args: ["--keep-in-foreground", "--conf-file=/x.conf"],
    runner,
    clock,
    policy,
    onState: (s) => states.push(s),
  });
  return { clock, runner, proc, states };
}

/** Lets the supervisor's promise callbacks run. */
const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("backoffDelay doubles from the initial delay and is capped", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n)), [
    1000,
    2000,
    4000,
    8000,
    8000,
    8000,
  ]);
  assert.equal(backoffDelay(DEFAULT_BACKOFF, 20), DEFAULT_BACKOFF.maxMs);
});

Deno.test("start spawns dnsmasq in the foreground and reports running with its pid", async () => {
  const { runner, proc } = setup();
  proc.start();
  await tick();
  assert.equal(runner.children.length, 1);
  assert.deepEqual(runner.last!.args, ["--keep-in-foreground", "--conf-file=/x.conf"]);
  const st = proc.status();
  assert.equal(st.state, "running");
  assert.equal(st.pid, runner.last!.pid);
  assert.equal(st.restarts, 0);
  await proc.stop();
  assert.deepEqual(runner.children[0].signals, ["SIGTERM"]);
  assert.equal(proc.status().state, "stopped");
  assert.equal(proc.status().pid, null);
});

Deno.test("crashes restart after 1 s, 2 s, 4 s, 8 s, 8 s (capped), then failed", async () => {
  const { clock, runner, proc, states } = setup();
  proc.start();
  await tick();
  const delays = [1000, 2000, 4000, 8000, 8000, 8000];
  for (const [i, delay] of delays.entries()) {
    runner.last!.exit(2, "dnsmasq: bad option at line 3\n");
    await tick();
    const st = proc.status();
    assert.equal(st.state, "backoff", `after crash ${i + 1}`);
    assert.match(st.lastError!, /code 2: dnsmasq: bad option at line 3/);
    assert.equal(st.nextRestartAt, clock.now() + delay);
    await clock.advance(delay - 1);
    assert.equal(runner.children.length, i + 1, "no restart before the delay ran out");
    await clock.advance(1);
    assert.equal(runner.children.length, i + 2, "restart exactly when the delay ran out");
    assert.equal(proc.status().state, "running");
    assert.equal(proc.status().restarts, i + 1);
  }
  runner.last!.exit(1);
  await tick();
  assert.equal(proc.status().state, "failed");
  await clock.advance(60_000);
  assert.equal(runner.children.length, delays.length + 1, "no restarts after failed");
  assert.ok(states.some((s) => s.state === "backoff"));
  assert.equal(states.at(-1)!.state, "failed");
});

Deno.test("a run that lasted stableMs resets the backoff", async () => {
  const { clock, runner, proc } = setup();
  proc.start();
  await tick();
  for (const d of [1000, 2000]) {
    runner.last!.exit(1);
    await clock.advance(d);
  }
  assert.equal(runner.children.length, 3);
  await clock.advance(30_000); // healthy for 30 s
  runner.last!.exit(1);
  await tick();
  assert.equal(proc.status().nextRestartAt, clock.now() + 1000);
  await proc.stop();
});

Deno.test("a missing binary is a failure with a clear error, retried with backoff", async () => {
  const { clock, runner, proc } = setup();
  runner.spawnable.clear();
  proc.start();
  await tick();
  assert.equal(proc.status().state, "backoff");
  assert.match(proc.status().lastError!, /could not start dnsmasq/);
  runner.spawnable.add("dnsmasq");
  await clock.advance(1000);
  assert.equal(proc.status().state, "running");
  await proc.stop();
});

Deno.test("signal sends SIGHUP to the running child without restarting it", async () => {
  const { runner, proc } = setup();
  assert.equal(proc.signal("SIGHUP"), false);
  proc.start();
  await tick();
  assert.equal(proc.signal("SIGHUP"), true);
  assert.deepEqual(runner.last!.signals, ["SIGHUP"]);
  assert.equal(proc.status().state, "running");
  assert.equal(runner.children.length, 1);
  await proc.stop();
});

Deno.test("stop during backoff cancels the pending restart", async () => {
  const { clock, runner, proc } = setup();
  proc.start();
  await tick();
  runner.last!.exit(1);
  await tick();
  await proc.stop();
  await clock.advance(10_000);
  assert.equal(runner.children.length, 1);
  assert.equal(proc.status().state, "stopped");
});

Deno.test("stop escalates to SIGKILL when the child ignores SIGTERM", async () => {
  const { clock, runner, proc } = setup();
  proc.start();
  await tick();
  const child = runner.last!;
  child.kill = function (sig) {
    this.signals.push(sig);
    if (sig === "SIGKILL") this.exit(137, "", "SIGKILL");
  };
  const stopping = proc.stop();
  await clock.advance(5000);
  await stopping;
  assert.deepEqual(child.signals, ["SIGTERM", "SIGKILL"]);
  assert.equal(proc.status().state, "stopped");
});
