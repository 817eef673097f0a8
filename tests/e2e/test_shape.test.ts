/**
 * A hub on the 12-bay test shape (shared/node_map.ts MODULE_SHAPES), built the way a user runs
 * one: the hub process with `--nodes 12` and its virtual cluster. Geometry comes from the node
 * map alone, so every answer follows the shape: two BitBars, twelve bays, range errors naming
 * 1 to 12, and the bays a larger module stored stay stored.
 */
import assert from "node:assert/strict";
import { ModuleInfo, NodeStatus } from "../../shared/schemas.ts";
import { sampleHeartbeat } from "../support/samples.ts";
import { HubProcess } from "../support/hub_process.ts";

const FAST = ["--sim-boot-ms", "400", "--heartbeat-ms", "200"];

async function json(r: Response): Promise<unknown> {
  const body = await r.json();
  return body;
}

/** Asserts a 400 whose JSON error has `code` and a message matching `message`. */
async function refused(r: Response, code: string, message: RegExp): Promise<void> {
  const body = await json(r) as { error?: { code?: string; message?: string } };
  assert.equal(r.status, 400, JSON.stringify(body));
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.match(body.error?.message ?? "", message);
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("a hub on the 12-bay test shape: module, status, power and range errors follow the map", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-shape12-" });
  const hub = await HubProcess.start(dir, ["--nodes", "12", ...FAST], { agents: true });
  try {
    const module = ModuleInfo.parse(await json(await hub.fetch("/api/v1/module")));
    assert.equal(module.nodeCount, 12);
    assert.equal(module.buses, 2);
    assert.equal(module.assetTag.sku, "CM12A");

    const nodes = NodeStatus.array().parse(await json(await hub.fetch("/api/v1/nodes")));
    assert.deepEqual(nodes.map((n) => n.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const last = nodes[11];
    assert.deepEqual(
      [last.bus, last.slot, last.hostname, last.ip, last.lan],
      [2, 6, "node12", "10.42.0.12", true],
    );
    assert.equal(nodes[5].expectedModel, "pi0w", "the shape's Zero W bay");

    // Power: one bay, then a set across both BitBars; the virtual agents report.
    const one = await hub.fetch("/api/v1/nodes/12/power", {
      method: "POST",
      body: JSON.stringify({ state: "on" }),
    });
    assert.equal(one.status, 200, JSON.stringify(await json(one)));
    const set = await hub.fetch("/api/v1/power", {
      method: "POST",
      body: JSON.stringify({ state: "on", nodes: "5-8" }),
    });
    assert.equal(set.status, 200, JSON.stringify(await json(set)));
    await waitFor("node 12 running", async () => {
      const n = NodeStatus.parse(await json(await hub.fetch("/api/v1/nodes/12")));
      return n.lifecycle === "running" && n.agent?.identity.hostname === "node12";
    });
    const on = NodeStatus.array().parse(await json(await hub.fetch("/api/v1/nodes")))
      .filter((n) => n.power.actual === "on").map((n) => n.id);
    assert.deepEqual(on, [5, 6, 7, 8, 12]);

    // Range errors name this module's range, over every way an id arrives.
    const tooFar = /node 13 does not exist: this module has nodes 1 to 12/;
    await refused(await hub.fetch("/api/v1/nodes/13"), "invalid_range", tooFar);
    await refused(
      await hub.fetch("/api/v1/nodes/13/power", {
        method: "POST",
        body: JSON.stringify({ state: "on" }),
      }),
      "invalid_range",
      tooFar,
    );
    await refused(
      await hub.fetch("/api/v1/power", {
        method: "POST",
        body: JSON.stringify({ state: "on", nodes: "10-13" }),
      }),
      "invalid_range",
      tooFar,
    );
    // A well-formed id of a larger module, from an agent: the hub's check, not the schema's.
    const beat = await fetch(`${hub.url}/api/v1/agent/heartbeat`, {
      method: "POST",
      headers: { authorization: "Bearer K", "content-type": "application/json" },
      body: JSON.stringify(sampleHeartbeat(40)),
    });
    await refused(beat, "invalid_node", /node 40, but this module has nodes 1 to 12/);
    const off = await hub.fetch("/api/v1/power", {
      method: "POST",
      body: JSON.stringify({ state: "off", nodes: "all" }),
    });
    assert.equal(off.status, 200, JSON.stringify(await json(off)));
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a data dir moves between module shapes and loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-shape-move-" });
  const post = (hub: HubProcess, path: string, body: unknown) =>
    hub.fetch(path, { method: "POST", body: JSON.stringify(body) });
  try {
    // On 60 bays: bay 40 disabled, bay 3 disabled.
    let hub = await HubProcess.start(dir, []);
    try {
      const r = await post(hub, "/api/v1/enabled", { nodes: "3,40", enabled: false });
      assert.equal(r.status, 200, JSON.stringify(await json(r)));
    } finally {
      await hub.stop();
    }
    // The same data dir on 12 bays: bay 3 keeps its setting, bay 40 is no bay of this module.
    hub = await HubProcess.start(dir, ["--nodes", "12"]);
    try {
      const nodes = NodeStatus.array().parse(await json(await hub.fetch("/api/v1/nodes")));
      assert.equal(nodes.length, 12);
      assert.deepEqual(nodes.filter((n) => !n.enabled).map((n) => n.id), [3]);
      await refused(
        await hub.fetch("/api/v1/nodes/40"),
        "invalid_range",
        /node 40 does not exist: this module has nodes 1 to 12/,
      );
    } finally {
      await hub.stop();
    }
    // Back on 60 bays: bay 40's setting is still there.
    hub = await HubProcess.start(dir, []);
    try {
      const nodes = NodeStatus.array().parse(await json(await hub.fetch("/api/v1/nodes")));
      assert.equal(nodes.length, 60);
      assert.deepEqual(nodes.filter((n) => !n.enabled).map((n) => n.id), [3, 40]);
    } finally {
      await hub.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
