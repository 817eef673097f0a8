import { ERROR_STATUS } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  AgentReport,
  BulkPowerCommand,
  ClusterEvent,
  ErrorBody,
  EventType,
  Heartbeat,
  HeartbeatReply,
  Job,
  JobKind,
  LedCommand,
  LedMode,
  Lifecycle,
  Model,
  MODEL_NAMES,
  ModuleInfo,
  NodeHealth,
  NodeId,
  NodeIdentity,
  NodeStatus,
  parseOrThrow,
  PowerAction,
  PowerCommand,
  PowerState,
  RequestedLedMode,
} from "../../shared/schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import * as Wire from "../../shared/wire_schemas.ts";

// ---- valid examples ---------------------------------------------------------------------------

const identity = () => ({
  node: 7,
  hostname: "node07",
  model: "pi3b+",
  boardName: "Raspberry Pi 3 Model B Plus Rev 1.3",
  serial: "00000000abcdef01",
  mac: "b8:27:eb:12:34:56",
  agentVersion: "0.1.0",
});
const health = () => ({
  uptimeSeconds: 12.5,
  load1: 0.1,
  memTotalBytes: 970_000_000,
  memAvailableBytes: 800_000_000,
  cpuTempCelsius: 47.2,
});
const heartbeat = () => ({
  identity: identity(),
  health: health(),
  led: "heartbeat",
  seq: 3,
  sentAt: 1_700_000_000_000,
});
const agentReport = () => ({
  identity: identity(),
  health: health(),
  led: "identify",
  seq: 3,
  receivedAt: 1_700_000_000_100,
});
const nodeStatus = () => ({
  id: 7,
  bus: 2,
  slot: 1,
  hostname: "node07",
  ip: "10.42.0.7",
  mac: null,
  expectedModel: "pi3b+",
  lan: true,
  enabled: true,
  power: { desired: "on", actual: "off" },
  lifecycle: "powering",
  ledRequested: null,
  lastHeartbeatAt: null,
  lastSeenAt: null,
  agent: agentReport(),
  quarantine: { stage: "dhcp_ack", reason: "boot stalled before dhcp ack", at: 1, attempts: 3 },
});
const moduleInfo = () => ({
  module: "NMEBW9HT",
  assetTag: { sku: "CM48A", model: "QA6QDEDP", tag: "NMEBW9HT" },
  nodeCount: 60,
  buses: 10,
  slotsPerBus: 6,
  subnet: "10.42.0.0/24",
  domain: "cluster",
  powerDriver: "simulated",
  switch: { id: 201, hostname: "switch", ip: "10.42.0.201" },
  hub: { id: 250, hostname: "bonnie", ip: "10.42.0.250" },
});
const job = () => ({
  id: "power-abc-123456",
  kind: "power",
  state: "running",
  summary: "on 1-16,23",
  progress: { done: 1, total: 17 },
  createdAt: 1_700_000_000_000,
  finishedAt: null,
  error: null,
});
const clusterEvent = () => ({
  id: 1,
  at: 1_700_000_000_000,
  type: "power_changed",
  node: 5,
  message: "node 5 power on",
  data: { from: "off", to: "on" },
});

// Each object schema with a factory for a valid example.
// deno-lint-ignore no-explicit-any
const OBJECTS: [string, z.core.$ZodType<any>, () => Record<string, unknown>][] = [
  ["PowerCommand", PowerCommand, () => ({ state: "cycle" })],
  ["BulkPowerCommand", BulkPowerCommand, () => ({ state: "on", nodes: "1-16,23,30-60" })],
  ["LedCommand", LedCommand, () => ({ mode: "identify" })],
  ["NodeIdentity", NodeIdentity, identity],
  ["NodeHealth", NodeHealth, health],
  ["Heartbeat", Heartbeat, heartbeat],
  ["HeartbeatReply", HeartbeatReply, () => ({ node: 60, led: null, intervalMs: 5000 })],
  // A quarantined node is asked to show the fault pattern.
  ["HeartbeatReply fault", HeartbeatReply, () => ({ node: 7, led: "fault", intervalMs: 1000 })],
  ["AgentReport", AgentReport, agentReport],
  ["NodeStatus", NodeStatus, nodeStatus],
  ["ModuleInfo", ModuleInfo, moduleInfo],
  ["Job", Job, job],
  ["ClusterEvent", ClusterEvent, clusterEvent],
  ["ErrorBody", ErrorBody, () => ({ error: { code: "invalid_range", message: "bad" } })],
];

function accepts(schema: z.core.$ZodType<unknown>, value: unknown, label: string): void {
  const r = z.safeParse(schema, value);
  assert.ok(r.success, `${label} should be accepted: ${r.success ? "" : r.error.message}`);
}
function rejects(schema: z.core.$ZodType<unknown>, value: unknown, label: string): void {
  assert.equal(z.safeParse(schema, value).success, false, `${label} should be rejected`);
}

Deno.test("every object schema accepts its valid example and returns it unchanged", () => {
  for (const [name, schema, make] of OBJECTS) {
    const value = make();
    accepts(schema, value, name);
    assert.deepEqual(z.parse(schema, value), value, name);
  }
});

Deno.test("every object schema is strict: an unknown top-level field is rejected", () => {
  for (const [name, schema, make] of OBJECTS) {
    rejects(schema, { ...make(), surprise: 1 }, `${name} + surprise`);
  }
});

Deno.test("nested objects are strict too", () => {
  const hb = heartbeat();
  rejects(Heartbeat, { ...hb, identity: { ...hb.identity, extra: true } }, "identity.extra");
  rejects(Heartbeat, { ...hb, health: { ...hb.health, extra: 1 } }, "health.extra");
  const st = nodeStatus();
  rejects(NodeStatus, { ...st, power: { ...st.power, wanted: "on" } }, "power.wanted");
  const mi = moduleInfo();
  rejects(ModuleInfo, { ...mi, hub: { ...mi.hub, mac: "x" } }, "hub.mac");
  rejects(Job, { ...job(), progress: { done: 1, total: 2, pct: 50 } }, "progress.pct");
  rejects(ErrorBody, { error: { code: "x", message: "y", stack: "z" } }, "error.stack");
});

Deno.test("every object schema rejects a missing required field and non-objects", () => {
  for (const [name, schema, make] of OBJECTS) {
    const value = make();
    for (const key of Object.keys(value)) {
      const { [key]: _dropped, ...rest } = value;
      // Optional fields may be omitted.
      const optional = (name === "NodeIdentity" && key === "node") ||
        (name === "Job" && key === "result");
      if (optional) accepts(schema, rest, `${name} without ${key}`);
      else rejects(schema, rest, `${name} without ${key}`);
    }
    for (const bad of [null, undefined, 1, "x", [], true]) {
      rejects(schema, bad, `${name} as ${JSON.stringify(bad)}`);
    }
  }
});

Deno.test("wrong types are rejected field by field", () => {
  const cases: [string, z.core.$ZodType<unknown>, Record<string, unknown>][] = [
    ["PowerCommand.state number", PowerCommand, { state: 1 }],
    ["PowerCommand.state unknown", PowerCommand, { state: "toggle" }],
    ["PowerCommand.state case", PowerCommand, { state: "ON" }],
    ["Bulk.nodes number", BulkPowerCommand, { state: "on", nodes: 5 }],
    ["Bulk.nodes too long", BulkPowerCommand, { state: "on", nodes: "1,".repeat(300) }],
    ["LedCommand fault not requestable", LedCommand, { mode: "fault" }],
    ["Identity.hostname empty", NodeIdentity, { ...identity(), hostname: "" }],
    ["Identity.model", NodeIdentity, { ...identity(), model: "pi5" }],
    ["Identity.serial number", NodeIdentity, { ...identity(), serial: 123 }],
    ["Health.uptime negative", NodeHealth, { ...health(), uptimeSeconds: -1 }],
    ["Health.mem fraction", NodeHealth, { ...health(), memTotalBytes: 1.5 }],
    ["Health.temp string", NodeHealth, { ...health(), cpuTempCelsius: "40" }],
    ["Heartbeat.seq negative", Heartbeat, { ...heartbeat(), seq: -1 }],
    ["Heartbeat.seq string", Heartbeat, { ...heartbeat(), seq: "3" }],
    ["Heartbeat.sentAt fraction", Heartbeat, { ...heartbeat(), sentAt: 1.5 }],
    ["Heartbeat.led", Heartbeat, { ...heartbeat(), led: "blink" }],
    ["Reply.intervalMs zero", HeartbeatReply, { node: 1, led: null, intervalMs: 0 }],
    ["Reply.led blink", HeartbeatReply, { node: 1, led: "blink", intervalMs: 1 }],
    ["Status.bus 0", NodeStatus, { ...nodeStatus(), bus: 0 }],
    ["Status.slot 0", NodeStatus, { ...nodeStatus(), slot: 0 }],
    ["Status.slot 7", NodeStatus, { ...nodeStatus(), slot: 7 }],
    ["Status.lan string", NodeStatus, { ...nodeStatus(), lan: "yes" }],
    ["Status.lifecycle", NodeStatus, { ...nodeStatus(), lifecycle: "dead" }],
    ["Status.power.actual", NodeStatus, { ...nodeStatus(), power: { desired: "on", actual: 1 } }],
    ["Job.kind", Job, { ...job(), kind: "reboot" }],
    ["Job.state", Job, { ...job(), state: "done" }],
    ["Job.progress.done fraction", Job, { ...job(), progress: { done: 0.5, total: 1 } }],
    ["Job.error number", Job, { ...job(), error: 1 }],
    ["Event.id zero", ClusterEvent, { ...clusterEvent(), id: 0 }],
    ["Event.type", ClusterEvent, { ...clusterEvent(), type: "power" }],
    ["Event.data array", ClusterEvent, { ...clusterEvent(), data: [1] }],
    ["Event.data null", ClusterEvent, { ...clusterEvent(), data: null }],
    ["ErrorBody.code number", ErrorBody, { error: { code: 400, message: "x" } }],
    ["ModuleInfo.nodeCount string", ModuleInfo, { ...moduleInfo(), nodeCount: "60" }],
  ];
  for (const [label, schema, value] of cases) rejects(schema, value, label);
});

Deno.test("node ids: whole numbers from 1, wherever a node id appears (the hub checks its range)", () => {
  // The shape only: whether the module has bay 61 is the hub's check against its node map.
  for (const id of [1, 30, 60, 61]) accepts(NodeId, id, `NodeId ${id}`);
  for (const id of [0, -1, 1.5, NaN, Infinity, "7", null]) {
    rejects(NodeId, id, `NodeId ${String(id)}`);
  }
  for (const id of [0, -3, 2.5]) {
    rejects(NodeIdentity, { ...identity(), node: id }, `identity.node ${id}`);
    rejects(HeartbeatReply, { node: id, led: null, intervalMs: 1 }, `reply.node ${id}`);
    rejects(NodeStatus, { ...nodeStatus(), id }, `status.id ${id}`);
    rejects(ClusterEvent, { ...clusterEvent(), node: id }, `event.node ${id}`);
  }
  accepts(ClusterEvent, { ...clusterEvent(), node: null }, "event without node");
});

Deno.test("MACs: six lower-case hex pairs with colons, or null where allowed", () => {
  accepts(NodeIdentity, { ...identity(), mac: null }, "null mac");
  accepts(NodeIdentity, { ...identity(), mac: "00:00:00:00:00:00" }, "zero mac");
  accepts(NodeStatus, { ...nodeStatus(), mac: "f0:9f:c2:ab:cd:ef" }, "status mac");
  const bad = [
    "B8:27:EB:12:34:56",
    "b8-27-eb-12-34-56",
    "b827eb123456",
    "b8:27:eb:12:34",
    "b8:27:eb:12:34:56:78",
    "b8:27:eb:12:34:5g",
    "b8:27:eb:12:34:567",
    " b8:27:eb:12:34:56",
    "b8:27:eb:12:34:56\n",
    "",
  ];
  for (const mac of bad) {
    rejects(NodeIdentity, { ...identity(), mac }, `identity mac ${JSON.stringify(mac)}`);
    rejects(NodeStatus, { ...nodeStatus(), mac }, `status mac ${JSON.stringify(mac)}`);
  }
  rejects(NodeIdentity, { ...identity(), mac: undefined }, "mac undefined (not optional)");
});

Deno.test("enums accept exactly their members", () => {
  const enums: [string, z.core.$ZodType<unknown>, string[]][] = [
    ["Model", Model, ["pi3b", "pi3b+", "pi4", "pi0w", "unknown"]],
    ["PowerState", PowerState, ["on", "off"]],
    ["PowerAction", PowerAction, ["on", "off", "cycle"]],
    ["LedMode", LedMode, ["heartbeat", "identify", "fault", "on", "off"]],
    ["RequestedLedMode", RequestedLedMode, ["heartbeat", "identify", "on", "off"]],
    ["Lifecycle", Lifecycle, ["off", "powering", "booting", "running", "lost", "fault"]],
    ["JobKind", JobKind, ["power", "testall", "activetest", "bootstrap"]],
  ];
  for (const [name, schema, members] of enums) {
    for (const m of members) accepts(schema, m, `${name} ${m}`);
    for (const m of ["", "ON", "x", 1, null]) rejects(schema, m, `${name} ${String(m)}`);
  }
  for (const t of ["power_changed", "heartbeat_lost", "fault", "hub_started"]) {
    accepts(EventType, t, t);
  }
  rejects(EventType, "power", "EventType power");
  // Every model has a human name.
  for (const m of Model.options) assert.ok(MODEL_NAMES[m].length > 0, m);
});

Deno.test("Job.result is optional and may hold anything", () => {
  accepts(Job, { ...job(), result: [{ node: 1, ok: true }] }, "array result");
  accepts(Job, { ...job(), result: null }, "null result");
  accepts(Job, { ...job(), state: "failed", finishedAt: 5, error: "boom" }, "failed job");
});

Deno.test("parseOrThrow returns the parsed value on success", () => {
  const v = parseOrThrow(BulkPowerCommand, { state: "off", nodes: "all" });
  assert.deepEqual(v, { state: "off", nodes: "all" });
});

/** Runs parseOrThrow expecting failure; returns the ClusterError. */
function failure(schema: z.core.$ZodType<unknown>, value: unknown, what?: string): ClusterError {
  try {
    parseOrThrow(schema, value, what);
  } catch (e) {
    assert.ok(e instanceof ClusterError, `expected ClusterError, got ${e}`);
    assert.equal(e.code, "invalid_body");
    assert.equal(ERROR_STATUS[e.code], 400);
    return e;
  }
  assert.fail("parseOrThrow accepted an invalid value");
}

Deno.test("parseOrThrow: ClusterError invalid_body naming the bad field path", () => {
  const top = failure(PowerCommand, { state: "toggle" });
  assert.match(top.message, /^invalid body: state: /);

  const hb = heartbeat();
  const nested = failure(Heartbeat, { ...hb, identity: { ...hb.identity, mac: "B8:27" } });
  assert.match(nested.message, /identity\.mac: MAC must be six lower-case hex pairs/);

  const deeper = failure(NodeStatus, {
    ...nodeStatus(),
    agent: { ...agentReport(), health: { ...health(), load1: -2 } },
  });
  assert.match(deeper.message, /agent\.health\.load1: /);

  const jobFail = failure(Job, { ...job(), progress: { done: "1", total: 2 } });
  assert.match(jobFail.message, /progress\.done: /);
});

Deno.test("parseOrThrow: several problems are all named; details lists them", () => {
  const e = failure(BulkPowerCommand, { state: "up", nodes: 7 });
  assert.match(e.message, /state: /);
  assert.match(e.message, /nodes: /);
  assert.ok(Array.isArray(e.details));
  assert.equal((e.details as string[]).length, 2);
});

Deno.test("parseOrThrow: unknown fields and whole-body problems use the `what` label", () => {
  const unknown = failure(LedCommand, { mode: "on", colour: "red" }, "LED command");
  assert.match(unknown.message, /^invalid LED command: /);
  assert.match(unknown.message, /colour/);
  const notObject = failure(PowerCommand, "on");
  assert.match(notObject.message, /^invalid body: body: /);
  const nestedUnknown = failure(Heartbeat, {
    ...heartbeat(),
    health: { ...health(), fanRpm: 1 },
  });
  assert.match(nestedUnknown.message, /health: .*fanRpm/);
});

Deno.test("the hub's heartbeat objects (classic zod) and the agent's (zod/mini) judge alike", () => {
  const pairs: [string, z.core.$ZodType<unknown>, z.core.$ZodType<unknown>, () => object][] = [
    ["NodeIdentity", NodeIdentity, Wire.NodeIdentity, identity],
    ["NodeHealth", NodeHealth, Wire.NodeHealth, health],
    ["Heartbeat", Heartbeat, Wire.Heartbeat, heartbeat],
  ];
  const variants = (v: Record<string, unknown>): unknown[] => [
    v,
    ...Object.keys(v).flatMap((k) => [
      { ...v, [k]: undefined },
      { ...v, [k]: null },
      { ...v, [k]: -1 },
      { ...v, [k]: 1.5 },
      { ...v, [k]: "" },
      { ...v, [k]: "x".repeat(300) },
      { ...v, [k]: {} },
    ]),
    { ...v, extra: 1 },
  ];
  for (const [name, hub, wire, make] of pairs) {
    for (const value of variants(make() as Record<string, unknown>)) {
      assert.equal(
        z.safeParse(hub, value).success,
        z.safeParse(wire, value).success,
        `${name} ${JSON.stringify(value)}`,
      );
    }
  }
});
