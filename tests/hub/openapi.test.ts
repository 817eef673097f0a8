/** The OpenAPI document matches the routes the app really serves. */
import assert from "node:assert/strict";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("every served /api/v1 route is in openapi.json and every documented route is served", async () => {
  const t = await startTestHub();
  try {
    const res = await t.call("GET", "/api/v1/openapi.json", undefined, { auth: false });
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, "3.1.0");
    const documented = new Set<string>();
    for (
      const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    ) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    // Routes as Hono registered them (method-specific handlers only; ALL = 405 fallbacks/middleware).
    const served = new Set(
      t.hub.app.routes
        .filter((r) => r.path.startsWith("/api/v1/") && r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`)
        .filter((r) => r !== "GET /api/v1/openapi.json"),
    );
    assert.ok(served.size >= 10, `expected the core routes, got ${[...served].join(", ")}`);
    assert.deepEqual(
      [...served].filter((r) => !documented.has(r)),
      [],
      "served but not documented",
    );
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      [],
      "documented but not served",
    );
    // Mutating routes declare bearer security and a request body schema.
    const power = doc.paths["/api/v1/nodes/{id}/power"].post;
    assert.deepEqual(power.security, [{ adminToken: [] }]);
    assert.deepEqual(power.requestBody.content["application/json"].schema.properties.state.enum, [
      "on",
      "off",
      "cycle",
    ]);
    assert.equal(power.requestBody.content["application/json"].schema.additionalProperties, false);
    assert.deepEqual(doc.paths["/api/v1/agent/heartbeat"].post.security, [{ agentKey: [] }]);
    assert.equal(doc.paths["/api/v1/nodes"].get.security, undefined);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
