import assert from "node:assert/strict";
import { LedMode, Model } from "../../../shared/schemas.ts";
import { FAULT, HEARTBEAT, isConstant, patternFor } from "../../../shared/led/patterns.ts";

/** Time the line spends at 1 in one period. */
function onTime(mode: LedMode, model: Model): number {
  const p = patternFor(mode, model);
  let on = 0;
  p.edges.forEach((e, i) => {
    const end = i + 1 < p.edges.length ? p.edges[i + 1].offset : p.period;
    if (e.value === 1) on += end - e.offset;
  });
  return on;
}

Deno.test("heartbeat: LAN Pis on 900 ms / off 100 ms, Pi Zero W the inverse", () => {
  for (const model of ["pi3b", "pi3b+", "pi4"] as const) {
    assert.deepEqual(patternFor("heartbeat", model).period, 1000);
    assert.deepEqual(onTime("heartbeat", model), 900, model);
  }
  assert.deepEqual(patternFor("heartbeat", "pi0w").period, 1000);
  assert.deepEqual(onTime("heartbeat", "pi0w"), 100);
});

Deno.test("unknown model gets the standard heartbeat", () => {
  assert.deepEqual(patternFor("heartbeat", "unknown"), HEARTBEAT);
});

Deno.test("every pattern is well formed: first edge at 0, offsets rising inside the period", () => {
  for (const mode of LedMode.options) {
    for (const model of Model.options) {
      const p = patternFor(mode, model);
      assert.deepEqual(p.edges[0].offset, 0);
      for (let i = 1; i < p.edges.length; i++) {
        assert.ok(p.edges[i].offset > p.edges[i - 1].offset, `${p.name} offsets must rise`);
        assert.ok(p.edges[i].value !== p.edges[i - 1].value, `${p.name} edges must alternate`);
      }
      assert.ok(p.edges[p.edges.length - 1].offset < p.period);
    }
  }
});

Deno.test("identify blinks fast, fault is distinct, on/off are constant", () => {
  assert.ok(patternFor("identify", "pi4").period <= 250);
  assert.deepEqual(onTime("identify", "pi4") * 2, patternFor("identify", "pi4").period);
  assert.deepEqual(FAULT.edges.filter((e) => e.value === 1).length, 2);
  for (const mode of ["heartbeat", "identify", "on", "off"] as const) {
    assert.notDeepEqual(patternFor(mode, "pi3b+").edges, FAULT.edges);
  }
  assert.ok(isConstant(patternFor("on", "pi0w")) && onTime("on", "pi0w") === 1000);
  assert.ok(isConstant(patternFor("off", "pi3b")) && onTime("off", "pi3b") === 0);
  assert.ok(!isConstant(HEARTBEAT));
});
