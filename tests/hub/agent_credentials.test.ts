/**
 * Issue 24 item 5: per-node agent credentials. Node N's agent key (`nodeNN.` + an HMAC of the
 * hub's agent secret) speaks for node N only; a heartbeat it signs for another node, from
 * another bay's address, with another bay's learned MAC, or for a bay whose rail has read off
 * is refused with 403 and counted in /metrics. The old shared key works, counted and warned
 * about, until `--no-shared-agent-key`.
 */
import { ERROR_STATUS } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import { AgentAuthCounters, AgentKeys, deriveAgentKey } from "../../hub/auth/agent_keys.ts";
import { AgentIngest } from "../../hub/cluster/agent_ingest.ts";
import { NodeTracker } from "../../hub/cluster/node_tracker.ts";
import { EventLog } from "../../hub/events/event_log.ts";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { parseHubSettings } from "../../hub/config.ts";
import { nodeOfAgentKey } from "../../shared/agent_key.ts";
import { ClusterError } from "../../shared/errors.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { ErrorBody } from "../../shared/schemas.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { sampleHeartbeat as heartbeat } from "../support/samples.ts";

async function withHub(
  fn: (t: TestHub) => Promise<void>,
  settings: Parameters<typeof startTestHub>[0] = {},
) {
  const t = await startTestHub(settings);
  try {
    await fn(t);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

const HB = "/api/v1/agent/heartbeat";

async function error(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = ErrorBody.parse(JSON.parse(text));
  assert.equal(body.error.code, code);
  return body.error.message;
}

async function metric(t: TestHub, line: string): Promise<number | null> {
  const text = await (await t.call("GET", "/metrics")).text();
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? null : Number(found.slice(line.length + 1));
}

const REFUSED = (reason: string) =>
  `cluster_agent_heartbeats_refused_total{module="NMEBW9HT",reason="${reason}"}`;

Deno.test("a heartbeat for node 31 signed with node 30's key is refused with 403 and counted", () =>
  withHub(async (t) => {
    const keys = t.hub.agentKeys;
    assert.equal(nodeOfAgentKey(keys.keyFor(30)), 30);
    assert.notEqual(keys.keyFor(30), keys.keyFor(31));
    for (const n of [30, 31]) {
      assert.equal((await t.call("POST", `/api/v1/nodes/${n}/power`, { state: "on" })).status, 200);
    }
    const msg = await error(
      await t.call("POST", HB, heartbeat(31), { auth: keys.keyFor(30) }),
      403,
      "forbidden",
    );
    assert.match(msg, /node 30's: it cannot report for node 31/);
    assert.equal(t.hub.status.node(31).agent, null, "the forged report was not recorded");
    assert.equal(await metric(t, REFUSED("wrong_node")), 1);
    // Its own node, and a heartbeat naming no node, go to node 30.
    const own = await t.call("POST", HB, heartbeat(30), { auth: keys.keyFor(30) });
    assert.equal(own.status, 200, await own.clone().text());
    assert.equal((await own.json()).node, 30);
    const bare = await t.call("POST", HB, heartbeat(), {
      auth: keys.keyFor(31),
    });
    assert.equal(bare.status, 200, await bare.clone().text());
    assert.equal((await bare.json()).node, 31);
    assert.equal(t.hub.status.node(31).lifecycle, "running");
    // A key that only looks like node 30's is no key at all.
    const fake = keys.keyFor(30).slice(0, -1) + (keys.keyFor(30).endsWith("A") ? "B" : "A");
    await error(await t.call("POST", HB, heartbeat(30), { auth: fake }), 401, "unauthorized");
    assert.equal(await metric(t, REFUSED("bad_key")), 1);
  }));

Deno.test("a node's key cannot report another bay's learned MAC", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/5/power", { state: "on" });
    t.hub.store.updateNode(4, { mac: "b8:27:eb:00:00:04" });
    const hb = heartbeat(5, { identity: { mac: "b8:27:eb:00:00:04" } });
    const msg = await error(
      await t.call("POST", HB, hb, { auth: t.hub.agentKeys.keyFor(5) }),
      403,
      "forbidden",
    );
    assert.match(msg, /MAC b8:27:eb:00:00:04, which the hub learned for node 4/);
    assert.equal(await metric(t, REFUSED("wrong_mac")), 1);
  }));

Deno.test("the shared key still works, counted and warned about once per node", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    for (let i = 0; i < 3; i++) {
      const res = await t.call("POST", HB, heartbeat(9), { auth: "test-agent-key" });
      assert.equal(res.status, 200, await res.text());
    }
    assert.equal(
      await metric(t, `cluster_agent_shared_key_heartbeats_total{module="NMEBW9HT"}`),
      3,
    );
  }));

Deno.test("--no-shared-agent-key refuses the shared key (401, counted) and keeps node keys", () =>
  withHub(async (t) => {
    await t.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    const msg = await error(
      await t.call("POST", HB, heartbeat(9), { auth: "test-agent-key" }),
      401,
      "unauthorized",
    );
    assert.match(msg, /shared agent key is turned off/);
    assert.equal(await metric(t, REFUSED("shared_key_off")), 1);
    const own = await t.call("POST", HB, heartbeat(9), { auth: t.hub.agentKeys.keyFor(9) });
    assert.equal(own.status, 200, await own.text());
  }, { settings: { sharedAgentKey: false } }));

Deno.test("the flag: --no-shared-agent-key turns the shared key off; default on", () => {
  const on = parseHubSettings([], () => undefined)!;
  assert.equal(on.sharedAgentKey, true);
  const off = parseHubSettings(["--no-shared-agent-key"], () => undefined)!;
  assert.equal(off.sharedAgentKey, false);
});

Deno.test("GET /nodes/N/agent-key gives node N's key to the admin only", () =>
  withHub(async (t) => {
    const res = await t.call("GET", "/api/v1/nodes/17/agent-key");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body, { node: 17, key: t.hub.agentKeys.keyFor(17) });
    for (const auth of [false, t.hub.agentKeys.keyFor(17), "test-agent-key"] as const) {
      await error(
        await t.call("GET", "/api/v1/nodes/17/agent-key", undefined, { auth }),
        401,
        "unauthorized",
      );
    }
    await error(await t.call("GET", "/api/v1/nodes/61/agent-key"), 400, "invalid_range");
    const secret = (await Deno.readTextFile(`${t.dataDir}/agent-secret`)).trim();
    assert.equal((await Deno.stat(`${t.dataDir}/agent-secret`)).mode! & 0o777, 0o600);
    assert.equal(deriveAgentKey(secret, 17), body.key);
  }));

Deno.test("a restarted hub keeps every node's key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-keys-" });
  try {
    const a = await startTestHub({ dataDir: dir });
    const key = a.hub.agentKeys.keyFor(42);
    await a.close();
    const b = await startTestHub({ dataDir: dir });
    assert.equal(b.hub.agentKeys.keyFor(42), key);
    await b.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An ingest over a fake clock, to check the address and off-bay rules directly. */
async function withIngest(
  fn: (o: {
    ingest: AgentIngest;
    tracker: NodeTracker;
    clock: FakeClock;
    counters: AgentAuthCounters;
    warnings: string[];
  }) => void | Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "cm-ingest-" });
  const store = new SqliteStore(`${dir}/hub.sqlite`);
  const clock = new FakeClock(1_000_000);
  const events = new EventLog(store, clock);
  const tracker = new NodeTracker(buildNodeMap(), events, clock, 3000, store);
  const counters = new AgentAuthCounters();
  const warnings: string[] = [];
  const ingest = new AgentIngest({
    map: buildNodeMap(),
    store,
    tracker,
    clock,
    heartbeatIntervalMs: 1000,
    counters,
    warn: (m) => warnings.push(m),
  });
  try {
    await fn({ ingest, tracker, clock, counters, warnings });
  } finally {
    tracker.close();
    events.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function refusal(fn: () => unknown, reason: string): string {
  let message = "";
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ClusterError, String(e));
    assert.equal(ERROR_STATUS[e.code], 403);
    assert.deepEqual(e.details, { reason });
    message = e.message;
    return true;
  });
  return message;
}

Deno.test("a node's key is refused from another bay's address; the cluster subnet only", () =>
  withIngest(({ ingest, tracker, counters }) => {
    tracker.seed(31, "on");
    const cred = { kind: "node", node: 31 } as const;
    const msg = refusal(
      () => ingest.heartbeat(heartbeat(31), () => "10.42.0.30", cred),
      "wrong_address",
    );
    assert.match(msg, /came from 10\.42\.0\.30, which is node 30's address/);
    // The shared key is held to the same rule.
    refusal(
      () => ingest.heartbeat(heartbeat(31), () => "::ffff:10.42.0.30", { kind: "shared" }),
      "wrong_address",
    );
    assert.equal(counters.refusals().get("wrong_address"), 2);
    // Its own address, loopback (the virtual cluster) and a learning-range address pass.
    for (const ip of ["10.42.0.31", "127.0.0.1", "10.42.0.120"]) {
      assert.equal(ingest.heartbeat(heartbeat(31), () => ip, cred).node, 31);
    }
  }));

Deno.test("an off bay cannot report: refused once its rail has read off longer than a heartbeat flies", () =>
  withIngest(async ({ ingest, tracker, clock, counters }) => {
    tracker.seed(12, "off");
    const cred = { kind: "node", node: 12 } as const;
    // Within the in-flight window (a heartbeat sent just before the switch-off) it is taken.
    await clock.advance(1000);
    assert.equal(ingest.heartbeat(heartbeat(12), undefined, cred).node, 12);
    await clock.advance(5000);
    const msg = refusal(() => ingest.heartbeat(heartbeat(12), undefined, cred), "bay_off");
    assert.match(msg, /node 12's rail has read off/);
    assert.equal(counters.refusals().get("bay_off"), 1);
    const before = tracker.get(12).agent?.receivedAt;
    refusal(() => ingest.heartbeat(heartbeat(12), undefined, { kind: "admin" }), "bay_off");
    assert.equal(tracker.get(12).agent?.receivedAt, before, "a refused report is not recorded");
  }));

Deno.test("the shared key's warning names the node, once", () =>
  withIngest(({ ingest, tracker, warnings, counters }) => {
    tracker.seed(7, "on");
    for (let i = 0; i < 3; i++) ingest.heartbeat(heartbeat(7), undefined, { kind: "shared" });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /node 7's agent uses the shared agent key/);
    assert.match(warnings[0], /--no-shared-agent-key/);
    assert.equal(counters.sharedKeyHeartbeats, 3);
  }));

Deno.test("AgentKeys recognises node keys, the shared key, and nothing else", () => {
  const keys = new AgentKeys({
    secret: "s3cret",
    map: buildNodeMap({ nodeCount: 48 }),
    sharedKey: "shared-key",
    sharedKeyAllowed: true,
  });
  assert.match(keys.keyFor(7), /^node07\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(keys.identify(keys.keyFor(7)), { kind: "node", node: 7 });
  assert.deepEqual(keys.identify("shared-key"), { kind: "shared" });
  assert.equal(keys.identify(deriveAgentKey("other-secret", 7)), null);
  assert.equal(keys.identify(deriveAgentKey("s3cret", 49)), null, "no bay 49 on 48 bays");
  assert.equal(keys.identify("node07.short"), null);
  assert.equal(keys.identify(""), null);
});
