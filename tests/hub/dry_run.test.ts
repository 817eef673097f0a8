/** Dry runs: `cm powerall … --dry-run` switches nothing; `netboot apply?dry_run=true` writes nothing. */
import assert from "node:assert/strict";
import { ApplyPlan } from "../../shared/netboot_schemas.ts";
import { serveTestHub } from "../support/test_hub.ts";
import { runCm } from "../support/cm.ts";

function cm(url: string, token: string, args: string[]) {
  return runCm(["--hub", url, "--token", token, ...args]);
}

Deno.test("cm powerall on 1-60 --dry-run prints the inrush schedule and switches nothing", async () => {
  const t = await serveTestHub();
  try {
    await t.hub.jobs.wait(t.hub.powerControl.power([3], "on").id);
    t.hub.quarantine.set(60, { stage: "heartbeat", reason: "test", at: 1, attempts: 3 });
    const jobsBefore = t.hub.jobs.list().length;
    const r = await cm(t.url, t.hub.token.value, ["powerall", "on", "1-60", "--dry-run"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^dry run: powerall on 1-59 — nothing is switched$/m);
    assert.match(r.out, /^inrush limits: 2 per BitBar and 12 per module in any 5 ms$/m);
    assert.match(r.out, /^skipped \(quarantined\): 60$/m);
    // Node 3 is on already: 58 rails, 12 per window; the first window is buses 1-6's first two.
    assert.match(
      r.out,
      /^ {2}\+0\.0 s {2}on {3}1-2,7-8,13-14,19-20,25-26,31-32 +window 1: 12 nodes/m,
    );
    assert.match(r.out, /^58 rails on in 5 windows, the last at \+0\.0 s$/m);
    assert.equal(t.hub.jobs.list().length, jobsBefore, "no job was started");
    assert.ok(t.hub.status.nodes().every((n) => n.power.actual === (n.id === 3 ? "on" : "off")));
    assert.ok(t.hub.status.nodes().every((n) => n.power.desired === (n.id === 3 ? "on" : "off")));
    // A cycle: everything off at once, then on in windows after the off time (20 ms here).
    const json = await cm(t.url, t.hub.token.value, [
      "--json",
      "powerall",
      "cycle",
      "1",
      "4",
      "--dry-run",
    ]);
    assert.equal(json.code, 0, json.err);
    const plan = JSON.parse(json.out);
    assert.deepEqual(plan.off, [1, 2, 3, 4]);
    assert.deepEqual(plan.windows.map((w: { atMs: number }) => w.atMs), [20, 25]);
    assert.deepEqual(plan.windows.map((w: { nodes: number[] }) => w.nodes), [[1, 2], [3, 4]]);
    assert.equal(t.hub.status.node(3).power.actual, "on", "still on: nothing was cycled");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("POST /netboot/apply?dry_run=true answers the diff and writes nothing", async () => {
  const t = await serveTestHub();
  try {
    const status = await (await t.call("GET", "/api/v1/netboot/status")).json();
    assert.equal(status.mode, "dry", "a test hub renders into its dry directory");
    const dir = status.lastApply.dir as string;
    const hosts = `${dir}/dnsmasq/hosts`;
    const edited = (await Deno.readTextFile(hosts)).replace("node07\n", "node07 old-name\n");
    await Deno.writeTextFile(hosts, edited);
    const res = await t.call("POST", "/api/v1/netboot/apply?dry_run=true", {});
    assert.equal(res.status, 200);
    const plan = ApplyPlan.parse(await res.json());
    const changed = plan.files.filter((f) => f.change !== "unchanged");
    assert.deepEqual(changed.map((f) => f.name), ["dnsmasq/hosts"]);
    assert.match(changed[0].diff, /^-10\.42\.0\.7\tnode07\.cluster\tnode07 old-name$/m);
    assert.deepEqual(plan.reloads, [], "dry mode reloads nothing");
    assert.equal(await Deno.readTextFile(hosts), edited, "nothing written");
    const bad = await t.call("POST", "/api/v1/netboot/apply?dry_run=maybe", {});
    assert.equal(bad.status, 400);
    const cli = await cm(t.url, t.hub.token.value, ["netboot", "apply", "--dry-run"]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /^--- .*\/dnsmasq\/hosts$/m);
    assert.match(
      cli.out,
      /^dry run \(dry mode\): 1 of \d+ files would change \(dnsmasq\/hosts\)$/m,
    );
    assert.match(cli.out, /^nothing was written or reloaded$/m);
    assert.equal(await Deno.readTextFile(hosts), edited, "nothing written");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
