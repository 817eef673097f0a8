import assert from "node:assert/strict";
import { Hono } from "hono";
import { ErrorBody } from "../../shared/schemas.ts";
import {
  ApplyResult,
  MacsResponse,
  NetbootStatus,
  RenderResponse,
  ResetResponse,
  ServicesResponse,
} from "../../shared/netboot_schemas.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { FakeProcessRunner } from "../support/fakes/fake_process_runner.ts";
import { CHECK_CACHE_MS, NetbootSupervisor } from "../../hub/netboot/runtime/supervisor.ts";
import { netbootRoutes } from "../../hub/http/routes/netboot.ts";
import { createApp } from "../../hub/http/app.ts";
import { defaultMap, eventRecorder, MemoryMacTable, tempSettings } from "./fixtures.ts";
import { AgentAuthCounters, AgentKeys } from "../../hub/auth/agent_keys.ts";
import { buildNodeMap } from "../../shared/node_map.ts";

const testAuth = {
  adminToken: "test-token",
  readToken: "test-read-token",
  readsNeedToken: false,
  agentKeys: new AgentKeys({
    secret: "test-secret",
    map: buildNodeMap(),
    sharedKey: "test-agent",
    sharedKeyAllowed: true,
  }),
  agentCounters: new AgentAuthCounters(),
};

/** Mounts the routes as the hub does: under /api/v1, ClusterError -> {"error":{...}}. */
async function withApp(
  fn: (
    app: Hono,
    ctx: { root: string; macs: MemoryMacTable; sup: NetbootSupervisor },
  ) => Promise<void>,
  overlays = true,
) {
  const root = await Deno.makeTempDir({ prefix: "cm-netboot-routes-" });
  const macs = new MemoryMacTable();
  const sup = new NetbootSupervisor({
    map: defaultMap,
    settings: tempSettings(root, { overlays }),
    macs,
    emit: eventRecorder().emit,
    runner: new FakeProcessRunner(),
    clock: new FakeClock(),
    probe: { isRoot: () => false, isRaspberryPi: () => false },
    learningTarget: () => ({ node: 9, since: 0 }),
  });
  const app = createApp({
    routes: netbootRoutes({ map: defaultMap, macs, supervisor: sup }),
    auth: testAuth,
    version: "test",
  });
  try {
    await fn(app, { root, macs, sup });
  } finally {
    await sup.stop();
    await Deno.remove(root, { recursive: true });
  }
}

const post = (body?: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer test-token" },
  body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
});

Deno.test("GET /services lists dnsmasq, nfs and nat with the dry-mode reason", async () => {
  await withApp(async (app, { root }) => {
    const res = await app.request("/api/v1/services");
    assert.equal(res.status, 200);
    const body = ServicesResponse.parse(await res.json());
    assert.equal(body.mode, "dry");
    assert.deepEqual(body.services.map((s) => s.name), ["dnsmasq", "nfs", "nat"]);
    assert.match(body.services[0].detail, new RegExp(`not running as root.*${root}/dry`));
  });
});

Deno.test("GET /netboot/status validates against its schema", async () => {
  await withApp(async (app) => {
    const body = NetbootStatus.parse(await (await app.request("/api/v1/netboot/status")).json());
    assert.equal(body.learning.range, "10.42.0.100-10.42.0.149");
    assert.equal(body.learning.waitingFor, 9);
    assert.equal(body.overlays, true);
    assert.equal(body.lastApply, null);
  });
});

Deno.test("POST /netboot/render returns files; write:true also writes them", async () => {
  await withApp(async (app, { root, macs }) => {
    macs.set(3, "b8:27:eb:00:00:03");
    const res = await app.request("/api/v1/netboot/render", post());
    assert.equal(res.status, 200);
    const body = RenderResponse.parse(await res.json());
    const hosts = body.files.find((f) => f.name === "dnsmasq/dhcp-hosts")!;
    assert.match(hosts.content, /^b8:27:eb:00:00:03,10\.42\.0\.3,node03$/m);
    assert.equal(body.applied, null);
    assert.equal(await Deno.stat(`${root}/dry`).catch(() => null), null);
    const written = RenderResponse.parse(
      await (await app.request("/api/v1/netboot/render", post({ write: true }))).json(),
    );
    assert.equal(written.applied!.written.length, body.files.length);
    assert.equal(await Deno.readTextFile(`${root}/dry/dnsmasq/dhcp-hosts`), hosts.content);
  });
});

Deno.test("POST /netboot/render rejects unknown fields and bad JSON with typed errors", async () => {
  await withApp(async (app) => {
    let res = await app.request("/api/v1/netboot/render", post({ write: "yes" }));
    assert.equal(res.status, 400);
    assert.equal(ErrorBody.parse(await res.json()).error.code, "invalid_body");
    res = await app.request("/api/v1/netboot/render", post({ wirte: true }));
    assert.equal(res.status, 400);
    res = await app.request("/api/v1/netboot/render", post("{nope"));
    assert.equal(res.status, 400);
    assert.equal(ErrorBody.parse(await res.json()).error.code, "invalid_body");
  });
});

Deno.test("POST /netboot/apply writes (dry) and reports what changed", async () => {
  await withApp(async (app) => {
    const first = ApplyResult.parse(
      await (await app.request("/api/v1/netboot/apply", post({}))).json(),
    );
    assert.ok(first.written.length > 0);
    const second = ApplyResult.parse(
      await (await app.request("/api/v1/netboot/apply", post())).json(),
    );
    assert.deepEqual(second.written, []);
  });
});

Deno.test("GET /macs lists learned MACs by node with names and addresses", async () => {
  await withApp(async (app, { macs }) => {
    macs.set(12, "b8:27:eb:00:00:0c");
    macs.set(2, "b8:27:eb:00:00:02");
    const body = MacsResponse.parse(await (await app.request("/api/v1/macs")).json());
    assert.deepEqual(body.macs, [
      { node: 2, hostname: "node02", ip: "10.42.0.2", mac: "b8:27:eb:00:00:02" },
      { node: 12, hostname: "node12", ip: "10.42.0.12", mac: "b8:27:eb:00:00:0c" },
    ]);
    assert.equal(body.waitingFor, 9);
  });
});

Deno.test("POST /nodes/:id/reset clears that overlay; bad ids and Zero W bays are errors", async () => {
  await withApp(async (app, { root }) => {
    await Deno.mkdir(`${root}/dry/overlay/node04/home`, { recursive: true });
    const res = await app.request("/api/v1/nodes/4/reset", post());
    assert.equal(res.status, 200);
    assert.deepEqual(ResetResponse.parse(await res.json()), {
      node: 4,
      path: `${root}/dry/overlay/node04`,
      removed: 1,
    });
    assert.deepEqual([...Deno.readDirSync(`${root}/dry/overlay/node04`)], []);
    const cases: [string, number, string][] = [
      ["61", 400, "invalid_range"],
      ["x", 400, "invalid_range"],
      ["20", 409, "conflict"], // a Pi Zero W bay has no overlay
    ];
    for (const [id, status, code] of cases) {
      const r = await app.request(`/api/v1/nodes/${id}/reset`, post());
      assert.equal(r.status, status, id);
      assert.equal(ErrorBody.parse(await r.json()).error.code, code);
    }
  });
});

Deno.test("POST /nodes/:id/reset with overlays off is a conflict", async () => {
  await withApp(async (app) => {
    const r = await app.request("/api/v1/nodes/4/reset", post());
    assert.equal(r.status, 409);
    assert.match(ErrorBody.parse(await r.json()).error.message, /overlays are off/);
  }, false);
});

Deno.test("public GET /services and /netboot/status reuse check results: a flood forks nothing more", async () => {
  const root = await Deno.makeTempDir({ prefix: "cm-netboot-routes-" });
  const runner = new FakeProcessRunner();
  runner.commands.set("exportfs", { code: 0, stdout: "", stderr: "" });
  runner.commands.set("iptables", { code: 0, stdout: "", stderr: "" });
  const clock = new FakeClock();
  const macs = new MemoryMacTable();
  const sup = new NetbootSupervisor({
    map: defaultMap,
    settings: tempSettings(root),
    macs,
    emit: eventRecorder().emit,
    runner,
    clock,
    probe: { isRoot: () => true, isRaspberryPi: () => true }, // live: checks really run
    readText: () => Promise.resolve(null),
  });
  const app = createApp({
    routes: netbootRoutes({ map: defaultMap, macs, supervisor: sup }),
    auth: testAuth,
    version: "test",
  });
  const forks = () => runner.ran.filter((c) => c[0] === "exportfs" || c[0] === "iptables").length;
  try {
    const burst = () =>
      Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          (async () => {
            const r = await app.request(i % 2 ? "/api/v1/services" : "/api/v1/netboot/status");
            assert.equal(r.status, 200);
            return await r.json();
          })()),
      );
    const first = await burst();
    ServicesResponse.parse(first[1]);
    assert.equal(NetbootStatus.parse(first[0]).nfs.state, "degraded");
    const once = forks();
    assert.ok(once > 0 && once <= 3, `one round of checks, got ${once} commands`);
    await clock.advance(CHECK_CACHE_MS - 1);
    await burst();
    assert.equal(forks(), once);
    await clock.advance(1); // stale now: checked again, once
    await burst();
    assert.equal(forks(), 2 * once);
  } finally {
    await sup.stop();
    await Deno.remove(root, { recursive: true });
  }
});
