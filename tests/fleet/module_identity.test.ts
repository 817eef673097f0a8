/** Every hub has a module name: settings, /module, metrics, events, fleet node sets. */
import assert from "node:assert/strict";
import { moduleNameOf, parseHubSettings } from "../../hub/config.ts";
import { ClusterError } from "../../shared/errors.ts";
import { fleetNodeName, moduleGroup, parseFleetNodeSet } from "../../shared/module_name.ts";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("module name: --module, CM_MODULE, else the asset tag's TAG; bad names refused", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const s = (argv: string[], vars: Record<string, string> = {}) =>
    parseHubSettings(argv, env(vars))!;
  assert.equal(moduleNameOf(s([])), "NMEBW9HT");
  assert.equal(moduleNameOf(s(["--asset-tag", "CM60A/QA6QDEDP/RACK7"])), "RACK7");
  assert.equal(moduleNameOf(s(["--module", "row2-a"])), "row2-a");
  assert.equal(moduleNameOf(s([], { CM_MODULE: "east_1" })), "east_1");
  assert.equal(moduleNameOf(s(["--module", "west"], { CM_MODULE: "east" })), "west");
  for (const bad of ["", "a:b", "_x", "a b", "x".repeat(33), "é"]) {
    assert.throws(() => s(["--module", bad]), (e: Error) => {
      assert.ok(e instanceof ClusterError && e.code === "bad_request", bad);
      assert.match(e.message, /--module must be 1 to 32 letters/);
      return true;
    });
  }
});

Deno.test("fleet names: MODULE:N, module groups, fleet node sets across modules", () => {
  assert.equal(fleetNodeName("A", 7), "A:7");
  assert.equal(moduleGroup("rack-7"), "module_rack_7");
  assert.equal(parseFleetNodeSet("1-4,9"), null);
  assert.deepEqual(parseFleetNodeSet("A:7"), [{ module: "A", nodes: "7" }]);
  assert.deepEqual(parseFleetNodeSet("A:1-4,9,B:all,A:12"), [
    { module: "A", nodes: "1-4,9,12" },
    { module: "B", nodes: "all" },
  ]);
  assert.throws(() => parseFleetNodeSet("A:"), /names no node/);
  assert.throws(() => parseFleetNodeSet("a b:3"), /module in/);
});

Deno.test("a hub's module name is in /module, on every metric and on every event", async () => {
  const t = await startTestHub({ settings: { module: "rack-7" } });
  try {
    const mod = await (await t.call("GET", "/api/v1/module")).json();
    assert.equal(mod.module, "rack-7");
    assert.equal(
      (await t.call("POST", "/api/v1/nodes/3/power", { state: "on" })).status,
      200,
    );
    const metrics = await (await t.hub.app.request("/metrics")).text();
    const samples = metrics.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    assert.ok(samples.length > 100);
    for (const line of samples) assert.match(line, /^[a-z_]+\{module="rack-7"[,}]/, line);
    const events = await (await t.call("GET", "/api/v1/events?format=json")).json();
    assert.ok(events.length > 0);
    for (const e of events) assert.equal(e.module, "rack-7", JSON.stringify(e));
    // Live subscribers see it too.
    const seen: string[] = [];
    const off = t.hub.events.subscribe((e) => seen.push(e.module ?? "-"));
    await t.call("POST", "/api/v1/nodes/3/power", { state: "off" });
    off();
    assert.ok(seen.length > 0 && seen.every((m) => m === "rack-7"), seen.join(","));
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
