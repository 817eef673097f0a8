import assert from "node:assert/strict";
import type { Lifecycle, NodeStatus, PowerState } from "../../shared/schemas.ts";
import { formatStatus } from "../../hub/cli/format_status.ts";
import { sampleReport } from "../support/samples.ts";

const NOW = 1_700_000_000_000;

function status(id: number, over: Partial<NodeStatus> = {}): NodeStatus {
  const bus = Math.floor((id - 1) / 6) + 1;
  const slot = ((id - 1) % 6) + 1;
  return {
    id,
    bus,
    slot,
    hostname: `node${String(id).padStart(2, "0")}`,
    ip: `10.42.0.${id}`,
    mac: null,
    expectedModel: "pi3b+",
    lan: true,
    enabled: true,
    power: { desired: "off", actual: "off" },
    lifecycle: "off",
    ledRequested: null,
    lastHeartbeatAt: null,
    lastSeenAt: null,
    agent: null,
    ...over,
  };
}

function powered(desired: PowerState, actual: PowerState, lifecycle: Lifecycle) {
  return { power: { desired, actual }, lifecycle };
}

/** Splits a table into header, the blocks of node lines between blank lines, and summary. */
function parse(text: string) {
  const lines = text.split("\n");
  const header = lines[0];
  const summary = lines.at(-1)!;
  assert.equal(lines.at(-2), "", "a blank line before the summary");
  const blocks: string[][] = [[]];
  for (const line of lines.slice(1, -2)) {
    if (line === "") blocks.push([]);
    else blocks.at(-1)!.push(line);
  }
  return { header, blocks, summary };
}

/** The line for node `id` (lines start with the right-aligned node id). */
function lineOf(text: string, id: number): string {
  const line = text.split("\n").find((l) => l.trim().split(/\s+/)[0] === String(id));
  assert.ok(line, `no line for node ${id}`);
  return line;
}

Deno.test("formatStatus: one block per bus, in order, each with that bus's nodes", () => {
  const nodes = Array.from({ length: 60 }, (_, i) => status(i + 1));
  const text = formatStatus(nodes, NOW);
  const { header, blocks } = parse(text);
  assert.match(header, /^NODE\s+BUS\s+SLOT\s+HOST\s+IP\s+MODEL\s+POWER\s+STATE\s+LED\s+HEARTBEAT$/);
  assert.equal(blocks.length, 10);
  blocks.forEach((block, b) => {
    assert.equal(block.length, 6, `bus ${b + 1}`);
    block.forEach((line, s) => {
      const [id, bus, slot, host, ip] = line.trim().split(/\s+/);
      assert.equal(Number(bus), b + 1);
      assert.equal(Number(slot), s + 1);
      assert.equal(Number(id), b * 6 + s + 1);
      assert.equal(host, `node${String(b * 6 + s + 1).padStart(2, "0")}`);
      assert.equal(ip, `10.42.0.${b * 6 + s + 1}`);
    });
  });
});

Deno.test("formatStatus: columns line up with the header", () => {
  const nodes = [
    status(1, { ...powered("on", "off", "powering"), ledRequested: "identify", enabled: false }),
    status(60, {
      ...powered("on", "on", "running"),
      lastHeartbeatAt: NOW - 2500,
    }),
  ];
  const text = formatStatus(nodes, NOW);
  const header = text.split("\n")[0];
  for (const line of [lineOf(text, 1), lineOf(text, 60)]) {
    for (const col of ["MODEL", "POWER", "STATE", "LED", "HEARTBEAT"]) {
      const at = header.indexOf(col);
      assert.notEqual(line[at - 1], undefined, `${col} column present`);
      assert.equal(line[at - 1], " ", `a space before the ${col} column in "${line}"`);
      assert.notEqual(line[at], " ", `${col} column starts at the header in "${line}"`);
    }
  }
});

Deno.test("formatStatus: desired≠actual shows actual→desired; equal shows one state", () => {
  const nodes = [
    status(1, powered("on", "off", "powering")),
    status(2, powered("off", "on", "running")),
    status(3, powered("on", "on", "booting")),
    status(4, powered("off", "off", "off")),
    status(5, { ...powered("on", "off", "fault"), enabled: false }),
  ];
  const text = formatStatus(nodes, NOW);
  const col = (id: number) => lineOf(text, id).trim().split(/\s+/);
  assert.ok(col(1).includes("off→on"), lineOf(text, 1));
  assert.ok(col(2).includes("on→off"), lineOf(text, 2));
  assert.ok(col(3).includes("on") && !lineOf(text, 3).includes("→"), lineOf(text, 3));
  assert.ok(col(4).includes("off") && !lineOf(text, 4).includes("→"), lineOf(text, 4));
  assert.match(lineOf(text, 5), /off→on \(x\)/, "a disabled bay is marked");
  assert.ok(col(1).includes("powering"));
  assert.ok(col(5).includes("fault"));
});

Deno.test("formatStatus: model, LED and heartbeat age columns", () => {
  const report = sampleReport(2, NOW - 2500, {
    identity: { hostname: "node02", model: "pi4", boardName: "Raspberry Pi 4 Model B" },
    led: "identify",
  });
  const nodes = [
    status(1, { expectedModel: "pi0w", lan: false }),
    status(2, {
      ...powered("on", "on", "running"),
      agent: report,
      ledRequested: "on",
      lastHeartbeatAt: NOW - 2500,
    }),
    status(3, {
      ...powered("on", "on", "lost"),
      ledRequested: "off",
      lastHeartbeatAt: NOW - 180_000,
    }),
  ];
  const text = formatStatus(nodes, NOW);
  const col = (id: number) => lineOf(text, id).trim().split(/\s+/);
  assert.ok(col(1).includes("pi0w"), "expected model without an agent");
  assert.equal(col(1).at(-1), "-", "no heartbeat yet");
  assert.equal(col(1).at(-2), "-", "no LED known");
  assert.ok(col(2).includes("pi4"), "the agent's model wins");
  assert.ok(!col(2).includes("pi3b+"));
  assert.equal(col(2).at(-2), "identify", "the agent's LED wins over the request");
  assert.equal(col(2).at(-1), "2.5s");
  assert.equal(col(3).at(-2), "off", "the requested LED when no agent");
  assert.equal(col(3).at(-1), "3m");
});

Deno.test("formatStatus: the summary line counts on, running, lost and fault", () => {
  const lifecycles: Lifecycle[] = ["off", "powering", "booting", "running", "lost", "fault"];
  const nodes: NodeStatus[] = [];
  // Deterministic spread of states over 60 nodes; counts are tallied by hand below.
  for (let id = 1; id <= 60; id++) {
    const lifecycle = lifecycles[id % lifecycles.length];
    const actual: PowerState = lifecycle === "off" || id % 7 === 0 ? "off" : "on";
    nodes.push(status(id, powered("on", actual, lifecycle)));
  }
  let on = 0, running = 0, lost = 0, fault = 0;
  for (const n of nodes) {
    if (n.power.actual === "on") on++;
    if (n.lifecycle === "running") running++;
    if (n.lifecycle === "lost") lost++;
    if (n.lifecycle === "fault") fault++;
  }
  assert.equal(running, 10);
  const { summary } = parse(formatStatus(nodes, NOW));
  assert.equal(summary, `${on} on, ${running} running, ${lost} lost, ${fault} fault of 60`);

  // A small hand-checked case.
  const small = [
    status(1, powered("on", "on", "running")),
    status(2, powered("on", "on", "lost")),
    status(7, powered("on", "off", "fault")),
  ];
  assert.equal(parse(formatStatus(small, NOW)).summary, "2 on, 1 running, 1 lost, 1 fault of 3");
});

Deno.test("formatStatus: a partial list groups only the buses present", () => {
  const nodes = [1, 2, 13, 14, 60].map((id) => status(id));
  const { blocks, summary } = parse(formatStatus(nodes, NOW));
  assert.deepEqual(
    blocks.map((b) => b.map((l) => Number(l.trim().split(/\s+/)[0]))),
    [[1, 2], [13, 14], [60]],
  );
  assert.equal(summary, "0 on, 0 running, 0 lost, 0 fault of 5");
  const empty = formatStatus([], NOW).split("\n");
  assert.equal(empty.at(-1), "0 on, 0 running, 0 lost, 0 fault of 0");
});

Deno.test("formatStatus: a node without a current heartbeat that was heard before shows when", () => {
  const nodes = [
    status(1, { lastSeenAt: NOW - 12 * 60_000 }),
    status(2, { lastSeenAt: NOW - 5 * 3600_000 }),
    status(3, { lastSeenAt: NOW - 3 * 86_400_000 }),
    status(4),
    status(5, {
      ...powered("on", "on", "running"),
      lastHeartbeatAt: NOW - 900,
      lastSeenAt: NOW - 900,
    }),
  ];
  const text = formatStatus(nodes, NOW);
  const header = text.split("\n")[0];
  const column = (id: number) => lineOf(text, id).slice(header.indexOf("HEARTBEAT"));
  assert.equal(column(1), "last 12m");
  assert.equal(column(2), "last 5h");
  assert.equal(column(3), "last 3d");
  assert.equal(column(4), "-", "never heard");
  assert.equal(column(5), "0.9s", "a current heartbeat shows its age alone");
});
