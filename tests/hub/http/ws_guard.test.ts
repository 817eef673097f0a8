/** The gate's WebSocket message guard: frames read off the wire, messages bounded in size and time. */
import assert from "node:assert/strict";
import { closeFrame, FrameReader, WsMessageGuard } from "../../../hub/http/ws_guard.ts";
import { clientFrame } from "../../support/ws_frames.ts";

const LIMITS = { maxMessageBytes: 1000, messageDeadlineMs: 5000 };
const bytes = (n: number) => new Uint8Array(n).fill(0x61);

Deno.test("ws guard: a single frame over the limit is refused at its header, before its payload", () => {
  const g = new WsMessageGuard(LIMITS);
  const frame = clientFrame(1, bytes(1001));
  const v = g.fromClient(frame.subarray(0, 8), 0); // the header only
  assert.equal(v?.code, 1009);
});

Deno.test("ws guard: fragments that add up past the limit are refused like one big frame", () => {
  const g = new WsMessageGuard(LIMITS);
  assert.equal(g.fromClient(clientFrame(1, bytes(300), false), 0), null);
  assert.equal(g.fromClient(clientFrame(0, bytes(300), false), 1), null);
  assert.equal(g.assemblyBytes, 600, "what the hub holds of the unfinished message");
  assert.ok(g.assembling);
  assert.equal(g.fromClient(clientFrame(0, bytes(300), false), 2), null);
  assert.equal(g.fromClient(clientFrame(0, bytes(300), false), 3)?.code, 1009);
});

Deno.test("ws guard: messages within the limit pass, pings between fragments too; the figure returns to 0", () => {
  const g = new WsMessageGuard(LIMITS);
  const stream = [
    clientFrame(1, bytes(400), false),
    clientFrame(9, bytes(10)), // ping between fragments
    clientFrame(0, bytes(400), true),
    clientFrame(1, bytes(900)),
    clientFrame(2, bytes(0)),
  ];
  const all = new Uint8Array(stream.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of stream) all.set(f, (off += f.length) - f.length);
  // Fed in awkward pieces: headers split across chunks.
  for (let i = 0; i < all.length; i += 7) {
    assert.equal(g.fromClient(all.subarray(i, i + 7), i), null);
  }
  assert.equal(g.assemblyBytes, 0);
  assert.equal(g.assembling, false);
  assert.equal(g.overdue(1_000_000), null);
});

Deno.test("ws guard: a message begun and not finished within the deadline is overdue (1008)", () => {
  const g = new WsMessageGuard(LIMITS);
  g.fromClient(clientFrame(1, bytes(10), false), 1000);
  assert.equal(g.overdue(5999), null);
  assert.equal(g.overdue(6001)?.code, 1008);
  g.fromClient(clientFrame(0, bytes(10), true), 6002);
  assert.equal(g.overdue(60_000), null);
});

Deno.test("ws guard: malformed streams are protocol errors (1002)", () => {
  assert.equal(new WsMessageGuard(LIMITS).fromClient(clientFrame(0, bytes(1)), 0)?.code, 1002);
  const g = new WsMessageGuard(LIMITS);
  g.fromClient(clientFrame(1, bytes(1), false), 0);
  assert.equal(g.fromClient(clientFrame(1, bytes(1)), 0)?.code, 1002);
  assert.equal(new WsMessageGuard(LIMITS).fromClient(clientFrame(9, bytes(126)), 0)?.code, 1002);
});

Deno.test("ws guard: frame boundaries of the server's stream; the close frame", () => {
  const r = new FrameReader();
  assert.ok(r.atBoundary);
  const server = new Uint8Array([0x81, 3, 0x61, 0x62, 0x63]);
  r.push(server.subarray(0, 3));
  assert.equal(r.atBoundary, false);
  r.push(server.subarray(3));
  assert.ok(r.atBoundary);
  const close = closeFrame({ code: 1009, reason: "message over 1 KiB" });
  assert.equal(close[0], 0x88);
  assert.equal((close[2] << 8) | close[3], 1009);
  assert.equal(new TextDecoder().decode(close.subarray(4)), "message over 1 KiB");
});
