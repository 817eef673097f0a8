import assert from "node:assert/strict";
import { staggerSteps } from "../../hub/cluster/stagger.ts";

/** Bus of a node on the real module: six slots per bus, independent of node_map.ts. */
const busOf = (node: number) => Math.floor((node - 1) / 6) + 1;

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Checks the invariants every schedule must satisfy. */
function checkSchedule(
  nodes: number[],
  steps: number[][],
  perBus: number,
  perStep: number,
  bus: (n: number) => number = busOf,
): void {
  // Every node exactly once.
  const flat = steps.flat();
  assert.equal(flat.length, nodes.length, "node count");
  assert.deepEqual([...flat].sort((a, b) => a - b), [...nodes].sort((a, b) => a - b));
  for (const [k, step] of steps.entries()) {
    assert.ok(step.length >= 1, `step ${k} is empty`);
    assert.ok(step.length <= perStep, `step ${k} has ${step.length} > perStep ${perStep}`);
    const counts = new Map<number, number>();
    for (const n of step) counts.set(bus(n), (counts.get(bus(n)) ?? 0) + 1);
    for (const [b, c] of counts) {
      assert.ok(c <= perBus, `step ${k}: bus ${b} switches ${c} > perBus ${perBus}`);
    }
    // Order within a step is the input order.
    const positions = step.map((n) => nodes.indexOf(n));
    for (let i = 1; i < positions.length; i++) {
      assert.ok(positions[i] > positions[i - 1], `step ${k} out of input order: ${step}`);
    }
  }
  // Nodes of one bus switch in input order (never a later node before an earlier one).
  const stepOf = new Map<number, number>();
  steps.forEach((s, k) => s.forEach((n) => stepOf.set(n, k)));
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      if (bus(nodes[i]) === bus(nodes[j])) {
        assert.ok(
          stepOf.get(nodes[i])! <= stepOf.get(nodes[j])!,
          `node ${nodes[j]} switches before ${nodes[i]} on the same bus`,
        );
      }
    }
  }
}

Deno.test("staggerSteps: 60 nodes, 2 per bus → 3 steps of 20 (the minimum)", () => {
  const nodes = range(1, 60);
  const steps = staggerSteps(nodes, busOf, 2);
  checkSchedule(nodes, steps, 2, Infinity);
  assert.equal(steps.length, 3); // 6 nodes per bus / 2 per step
  for (const s of steps) assert.equal(s.length, 20);
  // Step 0 takes the top two slots of every bus.
  const expectedFirst: number[] = [];
  for (let b = 0; b < 10; b++) expectedFirst.push(b * 6 + 1, b * 6 + 2);
  assert.deepEqual(steps[0], expectedFirst);
});

Deno.test("staggerSteps: minimal step counts for simple cases", () => {
  const nodes = range(1, 60);
  for (const perBus of [1, 2, 3, 6, 7]) {
    const steps = staggerSteps(nodes, busOf, perBus);
    checkSchedule(nodes, steps, perBus, Infinity);
    assert.equal(steps.length, Math.ceil(6 / perBus), `perBus ${perBus}`);
  }
  // Only the module-wide limit.
  for (const perStep of [1, 7, 12, 60, 100]) {
    const steps = staggerSteps(nodes, busOf, 6, perStep);
    checkSchedule(nodes, steps, 6, perStep);
    assert.equal(steps.length, Math.ceil(60 / perStep), `perStep ${perStep}`);
  }
  // One bus only: perBus decides.
  const bus3 = range(13, 18);
  assert.equal(staggerSteps(bus3, busOf, 2, 12).length, 3);
  // One node.
  assert.deepEqual(staggerSteps([42], busOf, 1, 1), [[42]]);
});

Deno.test("staggerSteps: an empty node list is no steps", () => {
  assert.deepEqual(staggerSteps([], busOf, 2, 12), []);
});

Deno.test("staggerSteps: vendor LAN set with the default limits respects both limits", () => {
  const lan = [...range(1, 16), 23, ...range(30, 60)];
  const steps = staggerSteps(lan, busOf, 2, 12);
  checkSchedule(lan, steps, 2, 12);
  assert.ok(steps.length >= Math.ceil(lan.length / 12));
});

Deno.test("staggerSteps: unsorted input and arbitrary bus functions", () => {
  const nodes = [9, 3, 50, 1, 2, 8, 4];
  const steps = staggerSteps(nodes, busOf, 1);
  checkSchedule(nodes, steps, 1, Infinity);
  // Bus 1 holds 3, 1, 2, 4 → needs 4 steps at one per bus.
  assert.equal(steps.length, 4);
  assert.deepEqual(steps[0], [9, 3, 50]);

  const evenOdd = (n: number) => n % 2;
  const nodes2 = range(1, 10);
  const steps2 = staggerSteps(nodes2, evenOdd, 2);
  checkSchedule(nodes2, steps2, 2, Infinity, evenOdd);
  assert.equal(steps2.length, 3);
});

Deno.test("staggerSteps: seeded random inputs always satisfy the invariants", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 200; trial++) {
    const nodes = range(1, 60).filter(() => rand() < 0.6).sort(() => rand() - 0.5);
    const perBus = 1 + Math.floor(rand() * 4);
    const perStep = rand() < 0.3 ? Infinity : 1 + Math.floor(rand() * 20);
    const steps = staggerSteps(nodes, busOf, perBus, perStep);
    checkSchedule(nodes, steps, perBus, perStep);
    // Lower bounds no schedule can beat.
    const perBusMax = Math.max(
      0,
      ...range(1, 10).map((b) => nodes.filter((n) => busOf(n) === b).length),
    );
    assert.ok(steps.length >= Math.ceil(perBusMax / perBus));
    if (perStep !== Infinity) assert.ok(steps.length >= Math.ceil(nodes.length / perStep));
  }
});

Deno.test("staggerSteps: limits below 1 are rejected", () => {
  const nodes = range(1, 6);
  for (const [perBus, perStep] of [[0, 12], [-1, 12], [2, 0], [2, -5], [0, 0]]) {
    assert.throws(
      () => staggerSteps(nodes, busOf, perBus, perStep),
      /stagger limits must be at least 1/,
      `${perBus}/${perStep}`,
    );
  }
});

// The default limits (perBus 2, perStep 12) must reach the lower bound: 5 full steps.
Deno.test({
  name: "staggerSteps: default limits reach the lower bound of 5 steps for 60 nodes",
  fn() {
    const nodes = range(1, 60);
    const steps = staggerSteps(nodes, busOf, 2, 12);
    checkSchedule(nodes, steps, 2, 12);
    assert.equal(steps.length, 5);
  },
});
