/** Odd input at the HTTP edge: aborted bodies, padded path ids, non-JSON content types. */
import assert from "node:assert/strict";
import { serveTestHub, startTestHub } from "../support/test_hub.ts";

Deno.test("a client that goes away mid-body is no internal error: no stack, no 500", async () => {
  const t = await serveTestHub();
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(" "));
  };
  try {
    const port = Number(new URL(t.url).port);
    for (const framing of ["content-length: 500", "transfer-encoding: chunked"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const partial = framing.startsWith("content")
        ? '{"state":"o'
        : '20\r\n{"state":"on","padding":"xxxxxxx';
      await conn.write(
        new TextEncoder().encode(
          "POST /api/v1/nodes/3/power HTTP/1.1\r\nhost: x\r\n" +
            "authorization: Bearer test-admin-token\r\ncontent-type: application/json\r\n" +
            `${framing}\r\n\r\n${partial}`,
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      conn.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const power = metrics.split("\n").filter((l) =>
      l.startsWith("cluster_http_requests_total") && l.includes("/nodes/:id/power")
    );
    assert.ok(!power.some((l) => l.includes('status="500"')), power.join("\n"));
    assert.deepEqual(logged.filter((l) => /internal error|\n\s+at /.test(l)), []);
    assert.equal(t.hub.tracker.get(3).actual, "off", "nothing was switched");
  } finally {
    console.error = original;
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("whitespace around a path id is a 400, never trimmed into another node", async () => {
  const t = await startTestHub();
  try {
    for (const id of ["%205", "5%20", "%095", "%0A5", "+5"]) {
      for (
        const [method, path, body] of [
          ["GET", `/api/v1/nodes/${id}`, undefined],
          ["POST", `/api/v1/nodes/${id}/power`, { state: "on" }],
          ["POST", `/api/v1/nodes/${id}/led`, { mode: "identify" }],
          ["DELETE", `/api/v1/nodes/${id}/mac`, undefined],
          ["POST", `/api/v1/nodes/${id}/reset`, {}],
        ] as const
      ) {
        const res = await t.call(method, path, body);
        assert.equal(res.status, 400, `${method} ${path}`);
        const err = await res.json();
        assert.match(err.error.code, /^invalid_(node|range)$/, `${method} ${path}`);
      }
    }
    const n5 = await (await t.call("GET", "/api/v1/nodes/5")).json();
    assert.deepEqual(n5.power, { desired: "off", actual: "off" });
    assert.equal(n5.ledRequested, null);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a JSON body with a non-JSON Content-Type is 415 unsupported_media_type", async () => {
  const t = await startTestHub();
  const send = (type: string | null, body = '{"state":"on"}', path = "/api/v1/nodes/4/power") => {
    const headers: Record<string, string> = { authorization: "Bearer test-admin-token" };
    if (type !== null) headers["content-type"] = type;
    // Bytes, not a string: a string body would get a default text/plain type.
    const bytes = new TextEncoder().encode(body);
    return Promise.resolve(t.hub.app.request(path, { method: "POST", headers, body: bytes }));
  };
  try {
    for (
      const type of [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
      ]
    ) {
      const res = await send(type);
      assert.equal(res.status, 415, type);
      const err = await res.json();
      assert.equal(err.error.code, "unsupported_media_type", type);
      assert.match(err.error.message, /application\/json/, type);
    }
    assert.equal(t.hub.tracker.get(4).actual, "off", "a refused request changes nothing");
    for (
      const type of [
        null,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
      ]
    ) {
      const res = await send(type, '{"state":"off"}');
      assert.equal(res.status, 200, String(type));
      await res.body?.cancel();
    }
    // No body, no type to check: an optional body stays optional whatever the header.
    const empty = await send("text/plain", "", "/api/v1/netboot/apply");
    assert.notEqual(empty.status, 415);
    await empty.body?.cancel();
    // The agent's heartbeat is a JSON body like any other.
    const hb = await t.hub.app.request("/api/v1/agent/heartbeat", {
      method: "POST",
      headers: { authorization: "Bearer test-agent-key", "content-type": "text/plain" },
      body: "{}",
    });
    assert.equal(hb.status, 415);
    await hb.body?.cancel();
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("openapi.json lists 415 for every route that takes a JSON body or refuses one", async () => {
  const t = await startTestHub();
  try {
    const doc = await (await t.call("GET", "/api/v1/openapi.json", undefined, { auth: false }))
      .json();
    let withBody = 0;
    for (
      const [path, ops] of Object.entries(
        doc.paths as Record<
          string,
          Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>
        >,
      )
    ) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.requestBody) withBody++;
        // A route without a body schema still refuses a body other than {}: 415 there too.
        if (op.requestBody || method !== "get") {
          assert.ok(op.responses["415"], `${method} ${path}`);
        } else assert.equal(op.responses["415"], undefined, `${method} ${path}`);
      }
    }
    assert.ok(withBody >= 8, `${withBody} routes with a body`);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a route without a body refuses one other than {} and acts on nothing", async () => {
  const t = await startTestHub();
  const post = (path: string, body: string | null, type = "application/json") =>
    Promise.resolve(t.hub.app.request(path, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": type },
      body: body === null ? undefined : new TextEncoder().encode(body),
    }));
  try {
    const started = await t.call("POST", "/api/v1/activetest", { nodes: "5", timeoutMs: 60_000 });
    const job = await started.json();
    const cancel = `/api/v1/jobs/${job.id}/cancel`;
    for (
      const [body, type, status] of [
        ['{"bogus":true}', "application/json", 400],
        ['{"bogus":', "application/json", 400],
        ["x=1", "application/x-www-form-urlencoded", 415],
      ] as const
    ) {
      const res = await post(cancel, body, type);
      assert.equal(res.status, status, body);
      const err = await res.json();
      assert.equal(err.error.code, status === 415 ? "unsupported_media_type" : "invalid_body");
      assert.equal(t.hub.jobs.list().find((j) => j.id === job.id)?.state, "running", body);
    }
    const ok = await post(cancel, "{}");
    assert.equal(ok.status, 202);
    await ok.body?.cancel();
    const again = await post(cancel, null);
    assert.equal(again.status, 202, "no body at all is fine too (a repeated cancel is accepted)");
    await again.body?.cancel();
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
