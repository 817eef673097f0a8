import assert from "node:assert/strict";
import {
  bayAt,
  bayOf,
  buildNodeMap,
  busIds,
  busSlotOf,
  DEFAULT_NODE_MAP_CONFIG,
  HUB_ID,
  isNodeCount,
  MAX_NODE_ID,
  MODULE_SHAPES,
  NODE_COUNTS,
  nodeCountsText,
  nodeHostname,
  nodeIdForHostname,
  nodeIdForIp,
  nodeIds,
  type NodeMapConfig,
  nodeRangeProblem,
  parseNodeHostname,
  SLOTS_PER_BUS,
  SWITCH_ID,
} from "../../shared/node_map.ts";

Deno.test("geometry: node 1 top of bus 1, down the bus, then the next bus", () => {
  const expect: [number, number, number][] = [
    [1, 1, 1],
    [2, 1, 2],
    [6, 1, 6],
    [7, 2, 1],
    [12, 2, 6],
    [13, 3, 1],
    [55, 10, 1],
    [60, 10, 6],
  ];
  const map = buildNodeMap();
  for (const [id, bus, slot] of expect) {
    assert.deepEqual(busSlotOf(id), { bus, slot }, `busSlotOf(${id})`);
    const bay = bayOf(map, id)!;
    assert.equal(bay.id, id);
    assert.equal(bay.bus, bus, `bay ${id} bus`);
    assert.equal(bay.slot, slot, `bay ${id} slot`);
  }
  assert.equal(SLOTS_PER_BUS, 6);
  assert.equal(map.buses, 10);
});

Deno.test("geometry: every (bus, slot) pair is unique and every slot of every bus is used", () => {
  const map = buildNodeMap();
  assert.equal(map.bays.length, 60);
  const seen = new Set<string>();
  for (const bay of map.bays) {
    assert.ok(bay.bus >= 1 && bay.bus <= 10, `bay ${bay.id} bus ${bay.bus}`);
    assert.ok(bay.slot >= 1 && bay.slot <= 6, `bay ${bay.id} slot ${bay.slot}`);
    const key = `${bay.bus}/${bay.slot}`;
    assert.ok(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
  }
  for (let bus = 1; bus <= 10; bus++) {
    for (let slot = 1; slot <= 6; slot++) assert.ok(seen.has(`${bus}/${slot}`), `${bus}/${slot}`);
  }
  // Ids are 1..60 in order, with no gaps.
  map.bays.forEach((bay, i) => assert.equal(bay.id, i + 1));
});

Deno.test("addresses and names: 10.42.0.N, nodeNN, switch .201, hub .250", () => {
  const map = buildNodeMap();
  for (let id = 1; id <= 60; id++) {
    const bay = bayOf(map, id)!;
    assert.equal(bay.ip, `10.42.0.${id}`);
    const expectedName = id < 10 ? `node0${id}` : `node${id}`;
    assert.equal(bay.hostname, expectedName);
    assert.equal(nodeHostname(id), expectedName);
  }
  assert.equal(bayOf(map, 1)!.hostname, "node01");
  assert.equal(bayOf(map, 60)!.hostname, "node60");
  assert.equal(SWITCH_ID, 201);
  assert.equal(HUB_ID, 250);
  assert.deepEqual(map.switch, { id: 201, hostname: "switch", ip: "10.42.0.201" });
  assert.equal(map.hub.id, 250);
  assert.equal(map.hub.ip, "10.42.0.250");
  assert.ok(map.hub.hostname.length > 0);
  assert.equal(bayOf(map, 0), undefined);
  assert.equal(bayOf(map, 61), undefined);
});

Deno.test("default layout: Zero W in 17-22 and 24-29, LAN = the vendor's {1..16} 23 {30..60}", () => {
  const map = buildNodeMap();
  // The vendor's shell loop `for I in {1..16} 23 {30..60}`, expanded by hand.
  const vendorLan: number[] = [];
  for (let i = 1; i <= 16; i++) vendorLan.push(i);
  vendorLan.push(23);
  for (let i = 30; i <= 60; i++) vendorLan.push(i);

  const zero: number[] = [];
  for (let i = 17; i <= 22; i++) zero.push(i);
  for (let i = 24; i <= 29; i++) zero.push(i);

  const lan = map.bays.filter((b) => b.lan).map((b) => b.id);
  const notLan = map.bays.filter((b) => !b.lan).map((b) => b.id);
  assert.deepEqual(lan, vendorLan);
  assert.equal(lan.length, 48);
  assert.deepEqual(notLan, zero);
  for (const bay of map.bays) {
    assert.equal(bay.expectedModel, bay.lan ? "pi3b+" : "pi0w", `bay ${bay.id}`);
  }
});

Deno.test("custom config: no Zero W bays and a different LAN model", () => {
  const map = buildNodeMap({ zeroBays: "", lanModel: "pi4" });
  assert.ok(map.bays.every((b) => b.lan && b.expectedModel === "pi4"));
  const spaced = buildNodeMap({ zeroBays: "   " });
  assert.ok(spaced.bays.every((b) => b.lan));
});

Deno.test("48-node config: 8 buses, 48 bays, asset tag passed through", () => {
  const assetTag = { sku: "CM48A", model: "XYZ", tag: "TAG123" };
  const map = buildNodeMap({ nodeCount: 48, assetTag, zeroBays: "" });
  assert.equal(map.buses, 8);
  assert.equal(map.bays.length, 48);
  assert.deepEqual(map.config.assetTag, assetTag);
  assert.deepEqual(bayOf(map, 48), {
    id: 48,
    bus: 8,
    slot: 6,
    expectedModel: "pi3b+",
    lan: true,
    hostname: "node48",
    ip: "10.42.0.48",
  });
  assert.equal(bayOf(map, 49), undefined);
  assert.equal(nodeIdForIp(map, "10.42.0.49"), undefined);
  assert.equal(nodeIdForHostname(map, "node49"), undefined);
  assert.equal(nodeIdForIp(map, "10.42.0.48"), 48);
  // The 48-bay shape is all LAN unless told otherwise; the vendor's Zero W bays fit it too.
  assert.ok(buildNodeMap({ nodeCount: 48 }).bays.every((b) => b.lan));
  const withZeros = buildNodeMap({ nodeCount: 48, zeroBays: "17-22,24-29" });
  assert.equal(withZeros.bays.filter((b) => !b.lan).length, 12);
  // A zero-bay set beyond the module's size is rejected.
  assert.throws(() => buildNodeMap({ nodeCount: 48, zeroBays: "50" }), /node 50 does not exist/);
});

Deno.test("default config is the vendor CM60 with its asset tag", () => {
  const map = buildNodeMap();
  assert.equal(map.config.nodeCount, 60);
  assert.deepEqual(map.config.assetTag, DEFAULT_NODE_MAP_CONFIG.assetTag);
  assert.equal(map.config.assetTag.tag, "NMEBW9HT");
});

Deno.test("invalid nodeCount is rejected", () => {
  for (const n of [0, 6, 47, 49, 59, 61, 120, -60, 60.5, NaN]) {
    assert.throws(
      () => buildNodeMap({ nodeCount: n as NodeMapConfig["nodeCount"] }),
      /nodeCount must be 12, 48 or 60/,
      String(n),
    );
  }
});

Deno.test("nodeIdForIp: node addresses map back, everything else is undefined", () => {
  const map = buildNodeMap();
  for (let id = 1; id <= 60; id++) assert.equal(nodeIdForIp(map, `10.42.0.${id}`), id);
  const none = [
    "10.42.0.0",
    "10.42.0.61",
    "10.42.0.201", // the switch
    "10.42.0.250", // the hub
    "10.42.0.255",
    "10.42.1.5", // other subnet
    "192.168.0.5",
    "110.42.0.5",
    "10.42.0.",
    "10.42.0",
    "",
    "10.42.0.5.1",
    "10.42.0.-5",
    "10.42.0.1e1",
    "10.42.0.0x10",
    "10.42.0. 5",
    "10.42.0.5 ",
    "10.42.0.5.0",
    "10.42.0.abc",
  ];
  for (const ip of none) assert.equal(nodeIdForIp(map, ip), undefined, JSON.stringify(ip));
});

Deno.test("nodeIdForIp honours a different subnet prefix", () => {
  const map = buildNodeMap({ subnetPrefix: "192.168.7" });
  assert.equal(bayOf(map, 3)!.ip, "192.168.7.3");
  assert.equal(map.switch.ip, "192.168.7.201");
  assert.equal(nodeIdForIp(map, "192.168.7.3"), 3);
  assert.equal(nodeIdForIp(map, "10.42.0.3"), undefined);
});

Deno.test("nodeIdForHostname: nodeNN names, case and domain tolerant; others undefined", () => {
  const map = buildNodeMap();
  for (let id = 1; id <= 60; id++) assert.equal(nodeIdForHostname(map, nodeHostname(id)), id);
  const ok: [string, number][] = [
    ["node07", 7],
    ["node7", 7],
    ["NODE07", 7],
    ["node07.cluster", 7],
    [" node60 ", 60],
    ["node1", 1],
  ];
  for (const [name, id] of ok) assert.equal(nodeIdForHostname(map, name), id, name);
  const none = [
    "node00",
    "node0",
    "node61",
    "node100",
    "node",
    "node-7",
    "node07x",
    "xnode07",
    "switch",
    "bonnie",
    "",
    "7",
  ];
  for (const name of none) assert.equal(nodeIdForHostname(map, name), undefined, name);
});

Deno.test("nodeIdForIp accepts IPv4-mapped IPv6 peers from a dual-stack listener", () => {
  const map = buildNodeMap();
  assert.equal(nodeIdForIp(map, "::ffff:10.42.0.5"), 5);
  assert.equal(nodeIdForIp(map, "::FFFF:10.42.0.60"), 60);
  assert.equal(nodeIdForIp(map, "::ffff:10.42.0.61"), undefined);
  assert.equal(nodeIdForIp(map, "::1"), undefined);
});

Deno.test("the default asset tag names the module's size: CM60A on 60 bays, CM48A on 48", () => {
  assert.equal(buildNodeMap().config.assetTag.sku, "CM60A");
  assert.equal(buildNodeMap({ nodeCount: 60 }).config.assetTag.sku, "CM60A");
  assert.equal(DEFAULT_NODE_MAP_CONFIG.assetTag.sku, "CM60A");
  assert.equal(buildNodeMap({ nodeCount: 48 }).config.assetTag.sku, "CM48A");
  assert.equal(buildNodeMap({ nodeCount: 48 }).config.assetTag.tag, "NMEBW9HT");
});

Deno.test("module shapes: one table gives the sizes, their Zero W bays and the largest id", () => {
  assert.deepEqual(NODE_COUNTS, [12, 48, 60]);
  assert.equal(nodeCountsText(), "12, 48 or 60");
  assert.equal(MAX_NODE_ID, 60);
  for (const n of NODE_COUNTS) {
    assert.ok(isNodeCount(n));
    const map = buildNodeMap({ nodeCount: n });
    assert.deepEqual(nodeIds(map), Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(map.buses, n / SLOTS_PER_BUS);
    assert.equal(map.config.zeroBays, MODULE_SHAPES[n].zeroBays);
  }
  for (const n of [0, 13, 47, 61, 12.5, NaN]) assert.ok(!isNodeCount(n), String(n));
});

Deno.test("the 12-bay test shape: two BitBars, a Zero W in bay 6, nothing past bay 12", () => {
  const map = buildNodeMap({ nodeCount: 12 });
  assert.deepEqual(busIds(map), [1, 2]);
  assert.deepEqual(map.bays.filter((b) => !b.lan).map((b) => b.id), [6]);
  assert.deepEqual(bayAt(map, 12), {
    id: 12,
    bus: 2,
    slot: 6,
    expectedModel: "pi3b+",
    lan: true,
    hostname: "node12",
    ip: "10.42.0.12",
  });
  assert.equal(bayOf(map, 13), undefined);
  assert.equal(bayOf(map, 1.5), undefined);
  assert.throws(() => bayAt(map, 13), RangeError);
  assert.equal(nodeRangeProblem(map, 12), null);
  assert.equal(nodeRangeProblem(map, 13), "node 13 does not exist: this module has nodes 1 to 12");
  assert.equal(nodeIdForIp(map, "10.42.0.13"), undefined);
  assert.equal(nodeIdForHostname(map, "node13"), undefined);
  assert.equal(nodeIdForHostname(map, "node12.cluster"), 12);
});

Deno.test("parseNodeHostname reads any module's hostnames, up to the largest shape", () => {
  assert.equal(parseNodeHostname("node07"), 7);
  assert.equal(parseNodeHostname("NODE60.cluster"), 60);
  assert.equal(parseNodeHostname("node61"), undefined);
  assert.equal(parseNodeHostname("node00"), undefined);
  assert.equal(parseNodeHostname("bonnie"), undefined);
});
