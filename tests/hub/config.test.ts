/** Hub settings from flags and environment. */
import assert from "node:assert/strict";
import { parseHubSettings } from "../../hub/config.ts";
import { DEFAULT_LIMITS } from "../../hub/http/limits.ts";
import { ClusterError } from "../../shared/errors.ts";
import { bayAt } from "../../shared/node_map.ts";
import { startTestHub } from "../support/test_hub.ts";

const noEnv = () => undefined;

Deno.test("defaults: loopback, port 4242, 60 nodes, vendor timeline, virtual agents", () => {
  const s = parseHubSettings([], noEnv)!;
  assert.equal(s.host, "127.0.0.1");
  assert.equal(s.port, 4242);
  assert.equal(s.nodeCount, 60);
  assert.equal(s.timeScale, 1);
  assert.equal(s.virtualAgents, true);
  assert.equal(s.assetTag, undefined);
  assert.equal(parseHubSettings(["--help"], noEnv), null);
});

Deno.test("flags win over the environment", () => {
  const env = (n: string) =>
    ({ CM_PORT: "5000", CM_NODES: "48", CM_ASSET_TAG: "A/B/C" } as Record<string, string>)[n];
  const s = parseHubSettings(["--port", "6000", "--asset-tag", "CM60A/X1/TAG9"], env)!;
  assert.equal(s.port, 6000);
  assert.equal(s.nodeCount, 48);
  assert.deepEqual(s.assetTag, { sku: "CM60A", model: "X1", tag: "TAG9" });
});

Deno.test("bad settings are clear errors", () => {
  const bad: [string[], RegExp][] = [
    [["--port", "70000"], /--port must be a whole number from 0 to 65535/],
    [["--port", "80a"], /--port/],
    [["--nodes", "50"], /--nodes must be 12, 48 or 60/],
    [["--asset-tag", "only-one"], /SKU\/MODEL\/TAG/],
    [["--zero-bays", "61"], /^--zero-bays: node 61 does not exist/],
    [["--time-scale", "0"], /--time-scale/],
    [["--lost-after-ms", "5"], /--lost-after-ms/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(() => parseHubSettings(argv, noEnv), (e: unknown) => {
      assert.ok(e instanceof ClusterError, `${argv.join(" ")}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => parseHubSettings(["--frobnicate"], noEnv), /frobnicate/);
});

Deno.test("asset tag and Zero W bays reach the module description", async () => {
  const t = await startTestHub({
    settings: { assetTag: { sku: "CM60A", model: "M1", tag: "T1" }, zeroBays: "1-6" },
  });
  try {
    const mod = await (await t.call("GET", "/api/v1/module")).json();
    assert.deepEqual(mod.assetTag, { sku: "CM60A", model: "M1", tag: "T1" });
    assert.equal(bayAt(t.hub.map, 1).expectedModel, "pi0w");
    assert.equal(bayAt(t.hub.map, 17).expectedModel, "pi3b+");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
  const small = await startTestHub({ settings: { nodeCount: 48 } });
  try {
    assert.ok(small.hub.map.bays.every((b) => b.lan), "a 48-bay module is all LAN by default");
  } finally {
    await small.close();
    await Deno.remove(small.dataDir, { recursive: true });
  }
});

Deno.test("virtual nodes boot faster on a compressed timeline unless told otherwise", () => {
  assert.equal(parseHubSettings([], noEnv)!.simBootMs, 5000);
  assert.equal(parseHubSettings(["--time-scale", "0.05"], noEnv)!.simBootMs, 1500);
  assert.equal(
    parseHubSettings(["--time-scale", "0.05", "--sim-boot-ms", "4000"], noEnv)!.simBootMs,
    4000,
  );
});

Deno.test("connection limits: defaults, flags, and clear errors", () => {
  assert.deepEqual(parseHubSettings([], noEnv)!.limits, DEFAULT_LIMITS);
  const s = parseHubSettings([
    "--max-connections",
    "500",
    "--max-connections-per-address",
    "50",
    "--max-sockets",
    "10",
    "--max-sockets-per-address",
    "2",
    "--max-streams",
    "20",
    "--max-streams-per-address",
    "3",
    "--request-timeout-ms",
    "2000",
    "--idle-timeout-ms",
    "30000",
    "--ws-message-timeout-ms",
    "4000",
  ], noEnv)!;
  assert.deepEqual(s.limits, {
    tcp: { max: 500, perAddress: 50, reserved: DEFAULT_LIMITS.tcp.reserved },
    ws: { max: 10, perAddress: 2, reserved: DEFAULT_LIMITS.ws.reserved },
    sse: { max: 20, perAddress: 3 },
    requestTimeoutMs: 2000,
    idleTimeoutMs: 30000,
    wsMessageTimeoutMs: 4000,
  });
  assert.throws(
    () => parseHubSettings(["--max-sockets", "0"], noEnv),
    (e) => e instanceof ClusterError && /--max-sockets/.test(e.message),
  );
  assert.throws(
    () => parseHubSettings(["--request-timeout-ms", "abc"], noEnv),
    (e) => e instanceof ClusterError && /--request-timeout-ms/.test(e.message),
  );
});
