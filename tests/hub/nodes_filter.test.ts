/** `GET /api/v1/nodes?lifecycle=…&power=…`: filtered, and an unknown value is a 400. */
import assert from "node:assert/strict";
import { z } from "zod";
import { NodeStatus } from "../../shared/schemas.ts";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("GET /nodes filters by lifecycle and power; unknown values are a 400, not ignored", async () => {
  const t = await startTestHub({ overrides: { sequencer: { stepMs: 1 } } });
  try {
    assert.equal(
      (await t.call("POST", "/api/v1/power", { state: "on", nodes: "3,7" })).status,
      200,
    );
    const ids = async (query: string) => {
      const res = await t.call("GET", `/api/v1/nodes?${query}`);
      assert.equal(res.status, 200, query);
      return z.array(NodeStatus).parse(await res.json()).map((n) => n.id);
    };
    assert.deepEqual(await ids("power=on"), [3, 7]);
    assert.deepEqual(await ids("lifecycle=booting"), [3, 7]);
    assert.deepEqual(await ids("lifecycle=running"), []);
    assert.deepEqual(await ids("lifecycle=booting,running&power=on"), [3, 7]);
    assert.deepEqual(await ids("lifecycle=booting&lifecycle=off&power=on"), [3, 7]);
    assert.equal((await ids("power=off")).length, 58);
    for (const q of ["lifecycle=up", "power=1", "power=", "lifecycle=running,bogus"]) {
      const res = await t.call("GET", `/api/v1/nodes?${q}`);
      assert.equal(res.status, 400, q);
      const body = await res.json();
      assert.equal(body.error.code, "bad_request");
      assert.match(body.error.message, /must be one or more of/);
    }
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
