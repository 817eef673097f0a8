import assert from "node:assert/strict";
import { FAULT, HEARTBEAT } from "../../../shared/led/patterns.ts";
import { currentEdge, edgeAt } from "../../../shared/led/schedule.ts";

Deno.test("edgeAt: edge n lies at start + cycle × period + offset", () => {
  const start = 10_000;
  assert.deepEqual(edgeAt(HEARTBEAT, start, 0), { index: 0, at: 10_000, value: 1 });
  assert.deepEqual(edgeAt(HEARTBEAT, start, 1), { index: 1, at: 10_900, value: 0 });
  assert.deepEqual(edgeAt(HEARTBEAT, start, 2), { index: 2, at: 11_000, value: 1 });
  // Far out on the timeline there is no accumulated error: exactly start + k × period.
  assert.deepEqual(edgeAt(HEARTBEAT, start, 2 * 86_400).at, start + 86_400 * 1000);
  assert.deepEqual(edgeAt(FAULT, start, 6), { index: 6, at: 11_200, value: 1 });
});

Deno.test("currentEdge: the latest edge due at or before now", () => {
  const start = 0;
  assert.deepEqual(currentEdge(HEARTBEAT, start, -5).index, 0);
  assert.deepEqual(currentEdge(HEARTBEAT, start, 0).index, 0);
  assert.deepEqual(currentEdge(HEARTBEAT, start, 899.9).index, 0);
  assert.deepEqual(currentEdge(HEARTBEAT, start, 900), { index: 1, at: 900, value: 0 });
  assert.deepEqual(currentEdge(HEARTBEAT, start, 3_950), { index: 7, at: 3_900, value: 0 });
  assert.deepEqual(currentEdge(FAULT, start, 1_250), { index: 6, at: 1_200, value: 1 });
  assert.deepEqual(currentEdge(FAULT, start, 1_999), { index: 7, at: 1_300, value: 0 });
});
