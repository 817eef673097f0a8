/**
 * The agent builds its heartbeat text with the identity serialized once: the text must be
 * exactly JSON.stringify of the Heartbeat object, and valid for the schema the hub uses.
 */
import assert from "node:assert/strict";
import { heartbeatJson } from "../../node-agent/heartbeat_json.ts";
import { Heartbeat, type NodeHealth, type NodeIdentity } from "../../shared/schemas.ts";

const IDENTITIES: NodeIdentity[] = [
  {
    node: 7,
    hostname: "node07",
    model: "pi3b+",
    boardName: 'Raspberry Pi 3 Model B Plus Rev 1.3 "quoted" \\ ü',
    serial: "00000000abcdef01",
    mac: "b8:27:eb:12:34:56",
    agentVersion: "0.1.0",
  },
  {
    hostname: "node17",
    model: "pi0w",
    boardName: "",
    serial: "",
    mac: null,
    agentVersion: "0.1.0",
  },
];
const HEALTHS: NodeHealth[] = [
  {
    uptimeSeconds: 12.5,
    load1: 0.07,
    memTotalBytes: 1e9,
    memAvailableBytes: 5e8,
    cpuTempCelsius: 48.3,
  },
  { uptimeSeconds: 0, load1: 0, memTotalBytes: 0, memAvailableBytes: 0, cpuTempCelsius: null },
];

Deno.test("heartbeatJson writes JSON.stringify(heartbeat), which the hub's schema accepts", () => {
  for (const identity of IDENTITIES) {
    const toJson = heartbeatJson(identity);
    for (const health of HEALTHS) {
      for (const led of ["heartbeat", "identify", "fault", "on", "off"] as const) {
        const hb = { identity, health, led, seq: 41, sentAt: 1_796_000_000_123 };
        const text = toJson(health, led, hb.seq, hb.sentAt);
        assert.equal(text, JSON.stringify(hb));
        assert.deepEqual(Heartbeat.parse(JSON.parse(text)), hb);
      }
    }
  }
});

Deno.test("heartbeatJson: holdMs (heartbeat passes) is written when given, and the hub's schema takes it", () => {
  const toJson = heartbeatJson(IDENTITIES[0], "kernel");
  const text = toJson(HEALTHS[0], "heartbeat", 3, 1_796_000_000_000, 700);
  assert.equal(Heartbeat.parse(JSON.parse(text)).holdMs, 700);
  assert.doesNotMatch(toJson(HEALTHS[0], "heartbeat", 3, 1_796_000_000_000), /holdMs/);
  assert.doesNotMatch(toJson(HEALTHS[0], "heartbeat", 3, 1_796_000_000_000, 0), /holdMs/);
});

Deno.test("heartbeatJson: a later change to the identity object does not leak into heartbeats", () => {
  const identity = { ...IDENTITIES[0] };
  const toJson = heartbeatJson(identity);
  identity.hostname = "changed";
  assert.match(toJson(HEALTHS[0], "on", 0, 0), /"hostname":"node07"/);
});
