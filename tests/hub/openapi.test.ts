/** The OpenAPI document matches the routes the app really serves. */
import assert from "node:assert/strict";
import { withTestHub } from "../support/test_hub.ts";

Deno.test("every served /api/v1 route is in openapi.json and every documented route is served", () =>
  withTestHub({}, async (t) => {
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
    // Routes as Hono registered them (method-specific handlers only; ALL = 405 fallbacks/middleware),
    // with /metrics, which a mounted sub-app serves outside /api/v1.
    const served = new Set(
      t.hub.app.routes
        .filter((r) =>
          (r.path.startsWith("/api/v1/") || r.path === "/metrics") && r.method !== "ALL"
        )
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
    // Reads take no token, or the read or admin token (--read-token required); health none.
    const READ = [{}, { readToken: [] }, { adminToken: [] }];
    assert.deepEqual(doc.paths["/api/v1/nodes"].get.security, READ);
    assert.deepEqual(doc.paths["/api/v1/health"].get.security, []);
  }));

Deno.test("openapi.json states every answer a route gives: statuses, media types, headers, security", () =>
  withTestHub({}, async (t) => {
    const doc = await (await t.call("GET", "/api/v1/openapi.json", undefined, { auth: false }))
      .json();
    const codesOf = (op: { responses: Record<string, unknown> }, status: string) =>
      (op.responses[status] as {
        content: Record<
          string,
          { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }
        >;
      }).content["application/json"].schema.properties.error.properties.code.enum;
    const power = doc.paths["/api/v1/nodes/{id}/power"].post;
    assert.deepEqual(Object.keys(power.responses).sort(), [
      "200",
      "202",
      "400",
      "401",
      "409",
      "413",
      "415",
      "429",
      "500",
      "502",
      "503",
      "507",
    ]);
    assert.deepEqual(codesOf(power, "507"), ["insufficient_storage"]);
    assert.deepEqual(codesOf(power, "409").sort(), ["cancelled", "conflict"]);
    // The gate may refuse any connection: 429/503 everywhere, with Retry-After.
    assert.deepEqual(codesOf(power, "429"), ["too_many_connections"]);
    // ... and a hub still reading its rails refuses power commands (not_ready)
    assert.deepEqual(codesOf(power, "503"), ["not_ready", "busy"]);
    assert.ok(power.responses["429"].headers["Retry-After"]);
    assert.deepEqual(codesOf(power, "502"), ["hardware_fault"]);
    assert.deepEqual(codesOf(power, "400").sort(), [
      "bad_request",
      "invalid_body",
      "invalid_range",
    ]);
    assert.ok(power.responses["202"].content["application/json"].schema);
    assert.deepEqual(doc.components.securitySchemes.adminToken, {
      type: "http",
      scheme: "bearer",
      description: "hub admin token",
    });
    assert.deepEqual(codesOf(doc.paths["/api/v1/jobs/{id}"].get, "404"), ["not_found"]);
    assert.deepEqual(Object.keys(doc.paths["/api/v1/testall"].post.responses).sort(), [
      "202",
      "400",
      "401",
      "409",
      "413",
      "415",
      "429",
      "500",
      "503",
      "507",
    ]);
    // The event stream: SSE by default, a JSON page with ?format=json, resumed by Last-Event-ID.
    const events = doc.paths["/api/v1/events"].get;
    assert.deepEqual(Object.keys(events.responses["200"].content).sort(), [
      "application/json",
      "text/event-stream",
    ]);
    assert.ok(
      events.parameters.some((p: { name: string; in: string }) =>
        p.name === "Last-Event-ID" && p.in === "header"
      ),
    );
    assert.ok(events.parameters.some((p: { name: string }) => p.name === "format"));
    assert.deepEqual(events.security, [{}, { readToken: [] }, { adminToken: [] }]);
    assert.ok("text/plain" in doc.paths["/api/v1/inventory"].get.responses["200"].content);
    const metrics = doc.paths["/metrics"].get;
    assert.deepEqual(metrics.security, [{}, { readToken: [] }, { adminToken: [] }]);
    assert.ok("text/plain" in metrics.responses["200"].content);
    assert.ok(metrics.responses["503"], "mounted routes are behind the gate too");
    assert.equal(doc.paths["/api/v1/health"].get.responses["400"], undefined);
    assert.ok(doc.info.license.name);
    // Every operation has an id, a summary, and error answers in the one JSON shape.
    const ids = new Set<string>();
    for (const ops of Object.values(doc.paths as Record<string, Record<string, never>>)) {
      for (const op of Object.values(ops) as { operationId: string; summary: string }[]) {
        assert.ok(op.summary && op.operationId && !ids.has(op.operationId), op.operationId);
        ids.add(op.operationId);
      }
    }
  }));

Deno.test("the statuses and media types the hub really answers are in openapi.json", () =>
  withTestHub({}, async (t) => {
    const doc = await (await t.call("GET", "/api/v1/openapi.json", undefined, { auth: false }))
      .json();
    const cases: [number, string, string, string, unknown?, { auth?: false; raw?: string }?][] = [
      [400, "POST", "/api/v1/nodes/99/power", "/api/v1/nodes/{id}/power", { state: "on" }],
      [401, "POST", "/api/v1/nodes/1/power", "/api/v1/nodes/{id}/power", { state: "on" }, {
        auth: false,
      }],
      [400, "POST", "/api/v1/nodes/1/power?wait=maybe", "/api/v1/nodes/{id}/power", {
        state: "on",
      }],
      [202, "POST", "/api/v1/nodes/1/power?wait=false", "/api/v1/nodes/{id}/power", {
        state: "on",
      }],
      [413, "POST", "/api/v1/nodes/1/led", "/api/v1/nodes/{id}/led", undefined, {
        raw: JSON.stringify({ mode: "x".repeat(70_000) }),
      }],
      [404, "GET", "/api/v1/jobs/nope", "/api/v1/jobs/{id}"],
      [404, "POST", "/api/v1/jobs/nope/cancel", "/api/v1/jobs/{id}/cancel"],
      [409, "DELETE", "/api/v1/nodes/1/mac", "/api/v1/nodes/{id}/mac"],
      [400, "GET", "/api/v1/events?format=xml", "/api/v1/events"],
      [200, "GET", "/api/v1/events?format=json", "/api/v1/events"],
      [200, "GET", "/api/v1/inventory?format=ini", "/api/v1/inventory"],
      [400, "GET", "/api/v1/inventory?format=yaml", "/api/v1/inventory"],
      [400, "GET", "/api/v1/ws", "/api/v1/ws"],
      [200, "GET", "/metrics", "/metrics"],
    ];
    for (const [status, method, url, path, body, opts] of cases) {
      const res = await t.call(method, url, body, opts);
      assert.equal(res.status, status, `${method} ${url}`);
      await res.body?.cancel();
      const op = doc.paths[path][method.toLowerCase()];
      const answer = op.responses[String(res.status)];
      assert.ok(answer, `${method} ${url} answered ${res.status}, not in the document`);
      const type = res.headers.get("content-type")?.split(";")[0] ?? "";
      assert.ok(type in answer.content, `${method} ${url}: ${type} not documented`);
    }
  }));
