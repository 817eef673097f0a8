/** ConnectionCaps: in all, per address, the token holders' reserve; releases count once. */
import assert from "node:assert/strict";
import { ConnectionCaps } from "../../../hub/http/connection_caps.ts";

Deno.test("caps: per address first, then in all; a release frees exactly one slot", () => {
  const caps = new ConnectionCaps({ max: 3, perAddress: 2 });
  const a1 = caps.acquire("10.0.0.1");
  const a2 = caps.acquire("10.0.0.1");
  assert.ok(a1.ok && a2.ok);
  assert.deepEqual(caps.acquire("10.0.0.1"), { ok: false, refused: "address" });
  assert.ok(caps.acquire("10.0.0.2").ok);
  assert.deepEqual(caps.acquire("10.0.0.3"), { ok: false, refused: "total" });
  assert.equal(caps.total, 3);
  if (a1.ok) {
    a1.release();
    a1.release(); // twice counts once
  }
  assert.equal(caps.total, 2);
  assert.equal(caps.from("10.0.0.1"), 1);
  assert.ok(caps.acquire("10.0.0.3").ok);
  assert.deepEqual(caps.acquire("10.0.0.4"), { ok: false, refused: "total" });
});

Deno.test("caps: a token holder skips the per-address cap and may use the reserve", () => {
  const caps = new ConnectionCaps({ max: 2, perAddress: 1, reserved: 1 });
  assert.ok(caps.acquire("flood").ok);
  assert.ok(caps.acquire("other").ok);
  assert.deepEqual(caps.acquire("admin"), { ok: false, refused: "total" });
  assert.ok(caps.acquire("flood", true).ok, "the reserve lets the operator in");
  assert.deepEqual(caps.acquire("admin", true), { ok: false, refused: "total" });
});
