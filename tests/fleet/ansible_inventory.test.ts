/**
 * One Ansible inventory over three hubs: the shipped script (deploy/ansible/cm-inventory, i.e.
 * `cm -A inventory`) read by the real `ansible-inventory --list` and `--graph`; the merge rules.
 */
import assert from "node:assert/strict";
import { mergeInventories, mergeReport } from "../../hub/cli/fleet/fleet_inventory.ts";
import { buildInventory } from "../../hub/http/routes/inventory.ts";
import { type ServedHub, serveTestHub } from "../support/test_hub.ts";
import { sendHeartbeat } from "../live/live_support.ts";
import { requirePrograms, run, writeCmProgram } from "./fleet_support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("ansible-inventory --list and --graph show every node of three hubs, grouped by module", async () => {
  const progs = requirePrograms(["ansible-inventory"]);
  if (!progs) return;
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-ansible-" });
  const hubs: ServedHub[] = [];
  try {
    for (const module of ["A", "B", "C"]) hubs.push(await serveTestHub({ settings: { module } }));
    // B:7 runs (a heartbeat), so it shows up in lifecycle_running; everything else is off.
    const on = await hubs[1].call("POST", "/api/v1/nodes/7/power", { state: "on" });
    assert.equal(on.status, 200);
    await sendHeartbeat(hubs[1], 7);
    hubs[1].hub.macLearning.table.set(7, "b8:27:eb:00:00:07");
    const hubsFile = `${dir}/hubs.json`;
    await Deno.writeTextFile(
      hubsFile,
      JSON.stringify({ hubs: hubs.map((h, i) => ({ name: `hub${i + 1}`, url: h.url })) }),
    );
    // $CM: the cm program the shipped script runs.
    const cmProgram = await writeCmProgram(dir);
    const env = { CM: cmProgram, CM_HUBS: hubsFile, ANSIBLE_LOCAL_TEMP: `${dir}/tmp` };
    const script = `${ROOT}deploy/ansible/cm-inventory`;

    let r = await run(progs["ansible-inventory"], ["-i", script, "--list"], { env });
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    for (const m of ["A", "B", "C"]) {
      const hosts: string[] = list[`module_${m}`].hosts;
      assert.equal(hosts.length, 60, m);
      assert.deepEqual(hosts.slice(0, 2), [`${m}:1`, `${m}:2`]);
    }
    assert.equal(Object.keys(list._meta.hostvars).length, 180);
    const b7 = list._meta.hostvars["B:7"];
    assert.equal(b7.ansible_host, "10.42.0.7");
    assert.equal(b7.mac, "b8:27:eb:00:00:07");
    assert.equal(b7.model, "pi3b+");
    assert.equal(b7.bay, 7);
    assert.equal(b7.bus, 2);
    assert.equal(b7.module, "B");
    assert.equal(b7.fleet_name, "B:7");
    assert.equal(b7.hostname, "node07");
    assert.equal(b7.cm_hub, "hub2");
    assert.deepEqual(list.lifecycle_running.hosts, ["B:7"]);
    assert.equal(list.lifecycle_off.hosts.length, 179);
    assert.equal(list.pi0w.hosts.length, 36);
    assert.equal(list.bus02.hosts.length, 18);
    // Reported (Ansible wraps the line), never merged.
    assert.match(r.stderr, /60\s+hostnames\s+repeat\s+across\s+modules\s+A,\s+B,\s+C\s/);

    r = await run(progs["ansible-inventory"], ["-i", script, "--graph"], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const m of ["A", "B", "C"]) {
      const section = r.stdout.split(`|--@module_${m}:`)[1]?.split("|--@")[0] ?? "";
      const nodes = section.match(/\|--[ABC]:\d+/g) ?? [];
      assert.equal(nodes.length, 60, `${m}: ${section.slice(0, 200)}`);
      assert.ok(nodes.every((n) => n.startsWith(`|--${m}:`)), m);
    }
    r = await run(progs["ansible-inventory"], ["-i", script, "--host", "C:60"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).module, "C");
  } finally {
    for (const h of hubs) {
      await h.close();
      await Deno.remove(h.dataDir, { recursive: true });
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fleet inventory merge: unique hostnames kept, repeats become MODULE:N, a module served twice is left out", async () => {
  const t = await serveTestHub({ settings: { module: "A" } });
  try {
    const nodes = t.hub.status.nodes().slice(0, 2);
    const inv = (module: string, rename?: (h: string) => string) => {
      const i = buildInventory(
        nodes.map((n) => rename ? { ...n, hostname: rename(n.hostname) } : n),
        { module, all: true },
      );
      return JSON.parse(JSON.stringify(i));
    };
    const merged = mergeInventories([
      { hub: "h1", hubHost: "h1.example", module: "A", inventory: inv("A") },
      { hub: "h2", hubHost: "h2.example", module: "B", inventory: inv("B") },
      { hub: "h3", hubHost: "h3.example", module: "R", inventory: inv("R", (h) => `r-${h}`) },
      { hub: "h4", hubHost: "h4.example", module: "X", inventory: inv("X") },
      { hub: "h5", hubHost: "h5.example", module: "X", inventory: inv("X") },
    ]);
    assert.deepEqual(merged.inventory.module_A, { hosts: ["A:1", "A:2"] });
    assert.deepEqual(merged.inventory.module_R, { hosts: ["r-node01", "r-node02"] });
    assert.equal(merged.inventory.module_X, undefined);
    assert.deepEqual(merged.inventory.all.children.slice(0, 3), [
      "module_A",
      "module_B",
      "module_R",
    ]);
    assert.equal(merged.inventory._meta.hostvars["r-node02"].cm_hub_host, "h3.example");
    assert.deepEqual([...merged.collisions], [["X", ["h4", "h5"]]]);
    assert.deepEqual(mergeReport(merged), [
      "2 hostnames repeat across modules A, B (node01, node02): those nodes are listed as MODULE:N, never merged",
      "module X is served by hubs h4, h5: its nodes are left out; start one hub with another --module",
    ]);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
