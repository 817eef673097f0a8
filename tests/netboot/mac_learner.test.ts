import assert from "node:assert/strict";
import { buildNodeMap } from "../../shared/node_map.ts";
import { EventType } from "../../shared/schemas.ts";
import {
  applyDecision,
  decideLease,
  type EventSink,
  type LeaseEvent,
  type MacTable,
} from "../../hub/netboot/runtime/mac_learner.ts";

const map = buildNodeMap();
const T0 = 1_700_000_000_000;

function ev(
  action: LeaseEvent["action"],
  mac: string,
  at = T0 + 5000,
  ip = "10.42.0.100",
): LeaseEvent {
  return { action, mac, ip, hostname: null, at };
}

/** A MAC table like the hub's store: refuses to overwrite, so a learner that tries fails. */
class StrictTable implements MacTable {
  readonly rows = new Map<number, string>();
  all() {
    return new Map(this.rows);
  }
  set(node: number, mac: string) {
    if (this.rows.has(node)) throw new Error(`node ${node} already has a MAC`);
    this.rows.set(node, mac);
  }
}

function recorder() {
  const events: {
    type: string;
    node: number | null;
    message: string;
    data: Record<string, unknown>;
  }[] = [];
  const sink: EventSink = (type, node, message, data) => {
    EventType.parse(type);
    events.push({ type, node, message, data });
  };
  return { events, sink };
}

Deno.test("a fresh add after the target bay was powered learns its MAC", () => {
  const d = decideLease(map, ev("add", "B8:27:EB:AA:BB:07"), { node: 7, since: T0 }, new Map());
  assert.deepEqual(d, { kind: "learn", node: 7, mac: "b8:27:eb:aa:bb:07", ip: "10.42.0.100" });
  const table = new StrictTable();
  const { events, sink } = recorder();
  assert.equal(applyDecision(map, d, table, sink), true);
  assert.deepEqual(table.all(), new Map([[7, "b8:27:eb:aa:bb:07"]]));
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "mac_learned");
  assert.equal(events[0].node, 7);
  assert.equal(events[0].data.ip, "10.42.0.7");
  assert.match(events[0].message, /node07/);
});

Deno.test("an add from before another bay without a MAC went off is not learned (whole seconds)", () => {
  const target = { node: 7, since: T0, othersOffSince: T0 + 5300 };
  // Lease times are whole seconds: T0+5000 may be before or after T0+5300; it is not taken.
  const d = decideLease(map, ev("add", "b8:27:eb:aa:bb:07", T0 + 5000), target, new Map());
  assert.equal(d.kind, "unknown");
  assert.match(d.kind === "unknown" ? d.reason : "", /another bay without a MAC was on/);
  assert.equal(
    decideLease(map, ev("add", "b8:27:eb:aa:bb:07", T0 + 6000), target, new Map()).kind,
    "learn",
    "a second that began after the other bay went off",
  );
});

Deno.test("without a waiting bay an unknown MAC stays unknown and nothing is written", () => {
  const d = decideLease(map, ev("add", "b8:27:eb:aa:bb:07"), null, new Map());
  assert.equal(d.kind, "unknown");
  const table = new StrictTable();
  const { events, sink } = recorder();
  assert.equal(applyDecision(map, d, table, sink), false);
  assert.equal(table.rows.size, 0);
  assert.equal(events.length, 0);
});

Deno.test("a bay that already has a different MAC gives mac_conflict, never an overwrite", () => {
  const table = new StrictTable();
  table.rows.set(7, "b8:27:eb:00:00:07");
  const d = decideLease(map, ev("add", "b8:27:eb:ff:ff:ff"), { node: 7, since: T0 }, table.all());
  assert.equal(d.kind, "conflict");
  const { events, sink } = recorder();
  assert.equal(applyDecision(map, d, table, sink), false);
  assert.equal(table.rows.get(7), "b8:27:eb:00:00:07");
  assert.equal(events.length, 1);
  assert.equal(events[0].type, "mac_conflict");
  assert.equal(events[0].node, 7);
  assert.equal(events[0].data.existingMac, "b8:27:eb:00:00:07");
  assert.equal(events[0].data.mac, "b8:27:eb:ff:ff:ff");
});

Deno.test("a fresh add of another bay's MAC while a bay waits is a conflict naming the owner", () => {
  const table = new StrictTable();
  table.rows.set(3, "b8:27:eb:00:00:03");
  const d = decideLease(map, ev("add", "b8:27:eb:00:00:03", T0 + 1, "10.42.0.3"), {
    node: 9,
    since: T0,
  }, table.all());
  assert.equal(d.kind, "conflict");
  const { events, sink } = recorder();
  applyDecision(map, d, table, sink);
  assert.equal(events[0].type, "mac_conflict");
  assert.equal(events[0].node, 9);
  assert.equal(events[0].data.owner, 3);
  assert.deepEqual(table.all(), new Map([[3, "b8:27:eb:00:00:03"]]));
});

Deno.test("renewals and known MACs are simply known", () => {
  const table = new Map([[3, "b8:27:eb:00:00:03"]]);
  for (const action of ["old", "add"] as const) {
    const d = decideLease(map, ev(action, "B8:27:EB:00:00:03", T0 + 1, "10.42.0.3"), null, table);
    assert.deepEqual(d, { kind: "known", node: 3, mac: "b8:27:eb:00:00:03", ip: "10.42.0.3" });
  }
  // renewal ("old") from the owner while another bay waits: still just known
  const d = decideLease(map, ev("old", "b8:27:eb:00:00:03", T0 + 1), { node: 9, since: T0 }, table);
  assert.equal(d.kind, "known");
});

Deno.test("only a fresh add after the power-on counts: old, early and del events do not learn", () => {
  const target = { node: 7, since: T0 };
  assert.equal(decideLease(map, ev("old", "b8:27:eb:aa:bb:07"), target, new Map()).kind, "unknown");
  assert.equal(
    decideLease(map, ev("add", "b8:27:eb:aa:bb:07", T0 - 1), target, new Map()).kind,
    "unknown",
  );
  assert.equal(decideLease(map, ev("del", "b8:27:eb:aa:bb:07"), target, new Map()).kind, "ignore");
  assert.equal(decideLease(map, ev("add", "not-a-mac"), target, new Map()).kind, "ignore");
  assert.equal(
    decideLease(map, ev("add", "b8:27:eb:aa:bb:07", T0), target, new Map()).kind,
    "learn",
  );
});

Deno.test("a WiFi-only (Zero W) bay is never learned from the LAN", () => {
  const d = decideLease(map, ev("add", "b8:27:eb:aa:bb:11"), { node: 17, since: T0 }, new Map());
  assert.equal(d.kind, "unknown");
  assert.match((d as { reason: string }).reason, /WiFi/);
});

Deno.test("two new MACs after one power-on: the first is learned, the second is a conflict", () => {
  const table = new StrictTable();
  const { events, sink } = recorder();
  const target = { node: 5, since: T0 };
  for (const mac of ["b8:27:eb:00:00:51", "b8:27:eb:00:00:52"]) {
    applyDecision(map, decideLease(map, ev("add", mac), target, table.all()), table, sink);
  }
  assert.deepEqual(table.all(), new Map([[5, "b8:27:eb:00:00:51"]]));
  assert.deepEqual(events.map((e) => e.type), ["mac_learned", "mac_conflict"]);
});

Deno.test("a renewal (old) in the learning range at/after the power-on learns: a Pi rebooted within its lease", () => {
  const range = { first: 100, last: 149 };
  const target = { node: 7, since: T0 };
  const mac = "b8:27:eb:aa:bb:07";
  assert.deepEqual(decideLease(map, ev("old", mac, T0 + 5000), target, new Map(), range), {
    kind: "learn",
    node: 7,
    mac,
    ip: "10.42.0.100",
  });
  // same second as the power-on: counts (events carry whole seconds)
  assert.equal(decideLease(map, ev("old", mac, T0), target, new Map(), range).kind, "learn");
  // before the power-on, outside the range, or without a range: not learned
  const no = (e: LeaseEvent, r: typeof range | null = range) =>
    decideLease(map, e, target, new Map(), r);
  assert.equal(no(ev("old", mac, T0 - 1000)).kind, "unknown");
  assert.equal(no(ev("old", mac, T0 + 5000, "10.42.0.150")).kind, "unknown");
  assert.equal(no(ev("old", mac, T0 + 5000, "10.42.1.100")).kind, "unknown");
  assert.equal(no(ev("old", mac, T0 + 5000), null).kind, "unknown");
  // a bay that has a MAC: a renewing stranger is a conflict, never an overwrite
  const table = new StrictTable();
  table.rows.set(7, "b8:27:eb:00:00:07");
  const d = decideLease(map, ev("old", mac), target, table.all(), range);
  assert.equal(d.kind, "conflict");
  const { events, sink } = recorder();
  assert.equal(applyDecision(map, d, table, sink), false);
  assert.equal(table.rows.get(7), "b8:27:eb:00:00:07");
  assert.deepEqual(events.map((e) => e.type), ["mac_conflict"]);
});
