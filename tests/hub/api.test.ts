/** REST routes through `app.request`: happy paths, auth, and every kind of bad input. */
import { buildNodeMap } from "../../shared/node_map.ts";
import assert from "node:assert/strict";
import { ErrorBody, Job, NodeStatus } from "../../shared/schemas.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { z } from "zod";
import { sampleHeartbeat as heartbeat } from "../support/samples.ts";

async function withHub(fn: (t: TestHub) => Promise<void>) {
  const t = await startTestHub();
  try {
    await fn(t);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

async function expectError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${text}`);
  assert.ok(!/\bat .*\.ts:\d+/.test(text), `stack trace leaked: ${text}`);
  const body = ErrorBody.parse(JSON.parse(text));
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 10, "message should say what is wrong");
  return body.error.message;
}

async function snapshot(t: TestHub): Promise<string> {
  const res = await t.call("GET", "/api/v1/nodes");
  const nodes = z.array(NodeStatus).parse(await res.json());
  return JSON.stringify(nodes.map((n) => [n.id, n.power, n.ledRequested]));
}

Deno.test("health, module and nodes describe a 60-node module", () =>
  withHub(async (t) => {
    const health = await (await t.call("GET", "/api/v1/health", undefined, { auth: false })).json();
    assert.equal(health.status, "ok");
    assert.equal(health.nodes, 60);
    const mod = await (await t.call("GET", "/api/v1/module", undefined, { auth: false })).json();
    assert.equal(mod.nodeCount, 60);
    assert.equal(mod.buses, 10);
    assert.equal(mod.hub.ip, "10.42.0.250");
    assert.equal(mod.switch.ip, "10.42.0.201");
    assert.equal(mod.assetTag.tag, "NMEBW9HT");
    assert.equal(mod.assetTag.sku, "CM60A", "a 60-bay module's default SKU is not CM48A");
    const res = await t.call("GET", "/api/v1/nodes", undefined, { auth: false });
    assert.equal(res.status, 200);
    const nodes = z.array(NodeStatus).parse(await res.json());
    assert.equal(nodes.length, 60);
    assert.deepEqual(nodes.map((n) => n.id), Array.from({ length: 60 }, (_, i) => i + 1));
    const n7 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/7")).json());
    assert.equal(n7.bus, 2);
    assert.equal(n7.slot, 1);
    assert.equal(n7.lifecycle, "off");
  }));

Deno.test("powering one node on and off changes its status and emits events", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/nodes/5/power", { state: "on" });
    assert.equal(res.status, 200);
    const job = Job.parse(await res.json());
    assert.equal(job.state, "succeeded");
    assert.equal(res.headers.get("location"), `/api/v1/jobs/${job.id}`);
    let n5 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/5")).json());
    assert.deepEqual(n5.power, { desired: "on", actual: "on" });
    assert.equal(n5.lifecycle, "booting");
    const n4 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/4")).json());
    assert.equal(n4.power.actual, "off");
    await t.call("POST", "/api/v1/nodes/5/power", { state: "off" });
    n5 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/5")).json());
    assert.deepEqual(n5.power, { desired: "off", actual: "off" });
    const types = t.hub.events.latest(50).filter((e) => e.node === 5).map((e) => e.type);
    assert.deepEqual(types.filter((x) => x === "power_changed").length, 2);
  }));

Deno.test("bulk power takes the vendor's node sets", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/power", { state: "on", nodes: "1-16,23,30-60" });
    assert.equal(res.status, 200);
    const nodes = z.array(NodeStatus).parse(await (await t.call("GET", "/api/v1/nodes")).json());
    const on = nodes.filter((n) => n.power.actual === "on").map((n) => n.id);
    const expected: number[] = [];
    for (let i = 1; i <= 16; i++) expected.push(i);
    expected.push(23);
    for (let i = 30; i <= 60; i++) expected.push(i);
    assert.deepEqual(on, expected);
    const res2 = await t.call("POST", "/api/v1/power", { state: "off", nodes: "1 60" });
    assert.equal(res2.status, 200);
    const after = z.array(NodeStatus).parse(await (await t.call("GET", "/api/v1/nodes")).json());
    assert.equal(after.filter((n) => n.power.actual === "on").length, 0);
  }));

Deno.test("?wait=false answers 202 with a job to poll", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/power?wait=false", { state: "on", nodes: "1-12" });
    assert.equal(res.status, 202);
    const job = Job.parse(await res.json());
    assert.equal(job.progress.total, 12);
    const done = await t.hub.jobs.wait(job.id);
    assert.equal(done.state, "succeeded");
    const polled = Job.parse(await (await t.call("GET", `/api/v1/jobs/${job.id}`)).json());
    assert.equal(polled.state, "succeeded");
    assert.equal(polled.progress.done, 12);
  }));

Deno.test("debugled sets the mode the heartbeat reply carries", () =>
  withHub(async (t) => {
    const res = await t.call("POST", "/api/v1/nodes/9/led", { mode: "identify" });
    assert.equal(res.status, 200);
    assert.equal(NodeStatus.parse(await res.json()).ledRequested, "identify");
    const hb = await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(9), {
      auth: "test-agent-key",
    });
    assert.equal(hb.status, 200);
    assert.deepEqual(await hb.json(), { node: 9, led: "identify", intervalMs: 1000 });
    await t.call("POST", "/api/v1/nodes/9/led", { mode: "heartbeat" });
    const hb2 = await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(9), {
      auth: "test-agent-key",
    });
    assert.equal((await hb2.json()).led, null);
  }));

Deno.test("a heartbeat makes a powered node running and is shown in its status", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    const res = await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(9), {
      auth: "test-agent-key",
    });
    assert.equal(res.status, 200);
    const n = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/9")).json());
    assert.equal(n.lifecycle, "running");
    assert.equal(n.agent?.health.cpuTempCelsius, 48.3);
    assert.ok(n.lastHeartbeatAt !== null);
  }));

Deno.test("the node's status says which LED engine its heartbeat named", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    const status = async () =>
      NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/9")).json());
    const send = (over: Parameters<typeof heartbeat>[1]) =>
      t.call("POST", "/api/v1/agent/heartbeat", heartbeat(9, over), { auth: "test-agent-key" });
    assert.equal((await send({ ledEngine: "kernel" })).status, 200);
    assert.equal((await status()).agent?.ledEngine, "kernel");
    assert.equal((await send({ ledEngine: "agent", seq: 2 })).status, 200);
    assert.equal((await status()).agent?.ledEngine, "agent");
    // an agent that does not say (older than the kernel engine) is shown without one
    assert.equal((await send({ seq: 3 })).status, 200);
    assert.equal((await status()).agent?.ledEngine, undefined);
  }));

Deno.test("a heartbeat without a node id is placed by its hostname", () =>
  withHub(async (t) => {
    const body = heartbeat();
    body.identity.hostname = "node33";
    const res = await t.call("POST", "/api/v1/agent/heartbeat", body, { auth: "test-agent-key" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).node, 33);
    body.identity.hostname = "raspberrypi";
    await expectError(
      await t.call("POST", "/api/v1/agent/heartbeat", body, { auth: "test-agent-key" }),
      400,
      "invalid_node",
    );
  }));

Deno.test("mutations need the right bearer token; reads do not", () =>
  withHub(async (t) => {
    const before = await snapshot(t);
    const none = await t.call("POST", "/api/v1/nodes/1/power", { state: "on" }, { auth: false });
    assert.match(await expectError(none, 401, "unauthorized"), /bearer token/);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="cluster-hub"');
    await expectError(
      await t.call("POST", "/api/v1/power", { state: "on", nodes: "1" }, { auth: "wrong" }),
      401,
      "unauthorized",
    );
    // The agent key may send heartbeats but not switch power.
    await expectError(
      await t.call("POST", "/api/v1/nodes/1/power", { state: "on" }, { auth: "test-agent-key" }),
      401,
      "unauthorized",
    );
    // The read token or an agent key on a change: 401, and the message says which token it was.
    assert.match(
      await expectError(
        await t.call("POST", "/api/v1/nodes/1/power", { state: "on" }, {
          auth: t.hub.readToken.value,
        }),
        401,
        "unauthorized",
      ),
      /read token.*only read.*needs the admin token/,
    );
    assert.match(
      await expectError(
        await t.call("POST", "/api/v1/nodes/1/led", { mode: "on" }, { auth: "test-agent-key" }),
        401,
        "unauthorized",
      ),
      /agent key.*heartbeats.*needs the admin token/,
    );
    assert.match(
      await expectError(
        await t.call("POST", "/api/v1/nodes/1/led", { mode: "on" }, { auth: "wrong" }),
        401,
        "unauthorized",
      ),
      /^the bearer token is not valid for this call$/,
    );
    await expectError(
      await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(1), { auth: false }),
      401,
      "unauthorized",
    );
    await expectError(
      await t.call("POST", "/api/v1/nodes/1/led", { mode: "on" }, { auth: false }),
      401,
      "unauthorized",
    );
    assert.equal(await snapshot(t), before, "state must be unchanged");
    assert.equal((await t.call("GET", "/api/v1/nodes/1", undefined, { auth: false })).status, 200);
  }));

Deno.test("bad input gets a 4xx JSON error and leaves state unchanged", () =>
  withHub(async (t) => {
    const before = await snapshot(t);
    const cases: [string, string, unknown, number, string, string?][] = [
      ["POST", "/api/v1/nodes/0/power", { state: "on" }, 400, "invalid_range"],
      ["POST", "/api/v1/nodes/61/power", { state: "on" }, 400, "invalid_range"],
      ["POST", "/api/v1/nodes/abc/power", { state: "on" }, 400, "invalid_range"],
      ["POST", "/api/v1/nodes/1.5/power", { state: "on" }, 400, "invalid_range"],
      ["GET", "/api/v1/nodes/61", undefined, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "1-" }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "60-1" }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "0-3" }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "abc" }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "1,,2" }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on", nodes: "" }, 400, "invalid_range"],
      ["POST", "/api/v1/power/plan", { state: "on", nodes: "" }, 400, "invalid_range"],
      ["POST", "/api/v1/testall", { nodes: "" }, 400, "invalid_range"],
      ["POST", "/api/v1/bootstrap/plan", { nodes: "" }, 400, "invalid_range"],
      ["POST", "/api/v1/enabled", { nodes: "", enabled: false }, 400, "invalid_range"],
      ["POST", "/api/v1/power", { state: "on" }, 400, "invalid_body"],
      ["POST", "/api/v1/power", { state: "on", nodes: 5 }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", { state: "ON" }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", { state: true }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", { state: "on", force: true }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", [], 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", null, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", undefined, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power", undefined, 400, "invalid_body", '{"state": "on"'],
      ["POST", "/api/v1/nodes/1/power", undefined, 400, "invalid_body", "state=on"],
      ["POST", "/api/v1/nodes/1/led", { mode: "fault" }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/led", { mode: "disco" }, 400, "invalid_body"],
      ["POST", "/api/v1/nodes/1/power?wait=maybe", { state: "on" }, 400, "bad_request"],
      ["GET", "/api/v1/nope", undefined, 404, "not_found"],
      ["GET", "/api/v1/jobs/does-not-exist", undefined, 404, "not_found"],
      ["DELETE", "/api/v1/nodes/1/power", undefined, 405, "method_not_allowed"],
      ["GET", "/api/v1/nodes/1/power", undefined, 405, "method_not_allowed"],
    ];
    for (const [method, path, body, status, code, raw] of cases) {
      const res = await t.call(method, path, body, raw ? { raw } : {});
      await expectError(res, status, code).catch((e) => {
        throw new Error(`${method} ${path} ${raw ?? JSON.stringify(body)}: ${e.message}`);
      });
    }
    const hb = heartbeat(1);
    hb.identity.mac = "B8:27:EB:00:00:01";
    await expectError(
      await t.call("POST", "/api/v1/agent/heartbeat", hb, { auth: "test-agent-key" }),
      400,
      "invalid_body",
    );
    await expectError(
      await t.call("POST", "/api/v1/agent/heartbeat", { ...heartbeat(1), extra: 1 }, {
        auth: "test-agent-key",
      }),
      400,
      "invalid_body",
    );
    const msg = await expectError(
      await t.call("POST", "/api/v1/nodes/1/power", { state: "ON" }),
      400,
      "invalid_body",
    );
    assert.match(msg, /state/, "the message names the bad field");
    // An empty node set gets the range parser's words, as one of spaces does, not a schema's.
    for (const nodes of ["", "  "]) {
      assert.match(
        await expectError(
          await t.call("POST", "/api/v1/power", { state: "on", nodes }),
          400,
          "invalid_range",
        ),
        /^empty node set: give ids like 1-16,23,30-60$/,
      );
    }
    assert.equal(await snapshot(t), before, "state must be unchanged");
  }));

Deno.test("bodies over the size limit are refused with 413", () =>
  withHub(async (t) => {
    const big = JSON.stringify({ state: "on", nodes: "1,".repeat(40_000) + "1" });
    await expectError(
      await t.call("POST", "/api/v1/power", undefined, { raw: big }),
      413,
      "payload_too_large",
    );
  }));

Deno.test("a stuck rail is a fault, not a silent success", async () => {
  const { SimulatedModule } = await import("../../hub/power/simulated_module.ts");
  const { realClock } = await import("../../shared/clock.ts");
  const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock, settleMs: 1 });
  sim.stuck.add(4);
  const t = await startTestHub({ overrides: { power: sim, sequencer: { stepMs: 1 } } });
  try {
    const res = await t.call("POST", "/api/v1/power", { state: "on", nodes: "3-5" });
    const msg = await expectError(res, 502, "hardware_fault");
    assert.match(msg, /node 4/);
    const n4 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/4")).json());
    assert.equal(n4.lifecycle, "fault");
    assert.deepEqual(n4.power, { desired: "on", actual: "off" });
    const n3 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/3")).json());
    assert.equal(n3.power.actual, "on");
    assert.ok(t.hub.events.latest(100).some((e) => e.type === "fault" && e.node === 4));
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a streamed body without Content-Length is cut off at the size limit", () =>
  withHub(async (t) => {
    let sent = 0;
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= 10 * 1024 * 1024) return ctl.close(); // would be 10 MiB if read in full
        sent += chunk.byteLength;
        ctl.enqueue(chunk);
      },
    });
    const res = await t.hub.app.request("/api/v1/power", {
      method: "POST",
      headers: { authorization: `Bearer ${t.hub.token.value}` },
      body,
    });
    await expectError(res, 413, "payload_too_large");
    assert.ok(sent <= 128 * 1024, `read ${sent} bytes before refusing`);
  }));

Deno.test("a command for a node waits for an earlier bulk command on it (no stale override)", () =>
  withHub(async (t) => {
    const bulk = await t.call("POST", "/api/v1/power?wait=false", { state: "on", nodes: "all" });
    assert.equal(bulk.status, 202);
    const off = await t.call("POST", "/api/v1/nodes/60/power", { state: "off" });
    assert.equal(off.status, 200);
    await t.hub.jobs.wait((await bulk.json()).id);
    const n60 = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/60")).json());
    assert.deepEqual(n60.power, { desired: "off", actual: "off" });
  }));

Deno.test("the OpenAPI path answers 405 to other methods, like every known path", () =>
  withHub(async (t) => {
    await expectError(await t.call("POST", "/api/v1/openapi.json", {}), 405, "method_not_allowed");
  }));

Deno.test("a node switched off shows no agent report from before (no stale LED or heartbeat)", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    await t.call("POST", "/api/v1/agent/heartbeat", heartbeat(9), { auth: "test-agent-key" });
    assert.ok(NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/9")).json()).agent);
    await t.call("POST", "/api/v1/nodes/9/power", { state: "off" });
    const off = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/9")).json());
    assert.equal(off.agent, null);
    assert.equal(off.lastHeartbeatAt, null);
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    const booting = NodeStatus.parse(await (await t.call("GET", "/api/v1/nodes/9")).json());
    assert.equal(booting.lifecycle, "booting");
    assert.equal(booting.agent, null, "the new boot has not reported yet");
  }));
