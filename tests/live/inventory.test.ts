/** `/api/v1/inventory`: running nodes grouped by model and bus, JSON and INI. */
import assert from "node:assert/strict";
import { buildInventory, Inventory } from "../../hub/http/routes/inventory.ts";
import { startTestHub } from "../support/test_hub.ts";
import { sendHeartbeat } from "./live_support.ts";

Deno.test("inventory lists running nodes by module, model, bus and lifecycle with hostvars; ?format=ini", async () => {
  const t = await startTestHub({ settings: { module: "rack-7" } });
  try {
    const on = await t.call("POST", "/api/v1/power", { state: "on", nodes: "1,2,7,17,18,30" });
    assert.equal(on.status, 200);
    await sendHeartbeat(t, 1); // pi3b+
    await sendHeartbeat(t, 2); // pi3b+
    await sendHeartbeat(t, 7, { model: "pi4" }); // a Pi 4 fitted in a LAN bay
    await sendHeartbeat(t, 17, { model: "pi0w" });
    await sendHeartbeat(t, 18, { model: "unknown" }); // falls back to the bay's expected model
    // Node 30 is on but has not sent a heartbeat: booting, not listed.
    assert.equal(t.hub.status.node(30).lifecycle, "booting");

    const res = await t.call("GET", "/api/v1/inventory", undefined, { auth: false });
    assert.equal(res.status, 200);
    const inv = Inventory.parse(await res.json());
    assert.deepEqual(inv, buildInventory(t.hub.status.nodes(), { module: "rack-7" }));
    assert.deepEqual(inv.all.children, [
      "module_rack_7",
      "pi0w",
      "pi3b_plus",
      "pi4",
      "bus01",
      "bus02",
      "bus03",
      "lifecycle_running",
    ]);
    assert.deepEqual(inv.module_rack_7, {
      hosts: ["node01", "node02", "node07", "node17", "node18"],
    });
    assert.deepEqual(inv.pi3b_plus, { hosts: ["node01", "node02"] });
    assert.deepEqual(inv.pi4, { hosts: ["node07"] });
    assert.deepEqual(inv.pi0w, { hosts: ["node17", "node18"] });
    assert.deepEqual(inv.bus01, { hosts: ["node01", "node02"] });
    assert.deepEqual(inv.bus02, { hosts: ["node07"] });
    assert.deepEqual(inv.bus03, { hosts: ["node17", "node18"] });
    assert.deepEqual(Object.keys(inv._meta.hostvars).sort(), [
      "node01",
      "node02",
      "node07",
      "node17",
      "node18",
    ]);
    assert.deepEqual(inv._meta.hostvars.node17, {
      ansible_host: "10.42.0.17",
      node_id: 17,
      bay: 17,
      bus: 3,
      slot: 5,
      model: "pi0w",
      mac: null,
      module: "rack-7",
      fleet_name: "rack-7:17",
      lifecycle: "running",
    });
    assert.equal(inv._meta.hostvars.node07.model, "pi4");

    const ini = await t.call("GET", "/api/v1/inventory?format=ini", undefined, { auth: false });
    assert.equal(ini.status, 200);
    assert.match(ini.headers.get("content-type") ?? "", /^text\/plain/);
    const groups = new Map<string, string[]>();
    let current = "";
    for (const line of (await ini.text()).split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const g = line.match(/^\[([a-z0-9_]+)\]$/);
      if (g) {
        current = g[1];
        groups.set(current, []);
        continue;
      }
      assert.ok(current, `host line outside a group: ${line}`);
      groups.get(current)!.push(line);
    }
    assert.deepEqual([...groups.keys()], inv.all.children);
    assert.deepEqual(groups.get("module_rack_7")?.slice(3), [
      "node17 ansible_host=10.42.0.17 node_id=17 bay=17 bus=3 slot=5 model=pi0w module=rack-7 fleet_name=rack-7:17 lifecycle=running",
      "node18 ansible_host=10.42.0.18 node_id=18 bay=18 bus=3 slot=6 model=pi0w module=rack-7 fleet_name=rack-7:18 lifecycle=running",
    ]);
    assert.deepEqual(groups.get("pi0w"), ["node17", "node18"]);
    assert.deepEqual(groups.get("bus01"), ["node01", "node02"]);

    const bad = await t.call("GET", "/api/v1/inventory?format=yaml", undefined, { auth: false });
    assert.equal(bad.status, 400);

    // ?all=true: every bay, the lifecycle groups telling them apart.
    const every = Inventory.parse(
      await (await t.call("GET", "/api/v1/inventory?all=true", undefined, { auth: false })).json(),
    );
    assert.equal(every.module_rack_7.hosts.length, 60);
    assert.deepEqual(every.lifecycle_booting, { hosts: ["node30"] });
    assert.equal(every.lifecycle_off.hosts.length, 54);
    assert.equal(
      (await t.call("GET", "/api/v1/inventory?all=yes", undefined, { auth: false })).status,
      400,
    );
  } finally {
    await t.close();
  }
});

Deno.test("inventory of a module with nothing running is empty but well-formed", async () => {
  const t = await startTestHub();
  try {
    const inv = Inventory.parse(await (await t.call("GET", "/api/v1/inventory")).json());
    assert.deepEqual(inv, {
      all: { children: ["module_NMEBW9HT"] },
      module_NMEBW9HT: { hosts: [] },
      _meta: { hostvars: {} },
    });
  } finally {
    await t.close();
  }
});
