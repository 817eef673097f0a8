/** RequestClock: slowloris heads and bodies are late, idle connections time out, tunnels stay. */
import assert from "node:assert/strict";
import { RequestClock } from "../../../hub/http/request_clock.ts";

const T = { requestTimeoutMs: 1000, idleTimeoutMs: 5000 };
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("clock: a connection that sends nothing is overdue after the request timeout", () => {
  const c = new RequestClock(0);
  assert.equal(c.overdue(999, T), null);
  assert.equal(c.overdue(1001, T), "request");
});

Deno.test("clock: a head trickled line by line is overdue although bytes keep coming", () => {
  const c = new RequestClock(0);
  c.fromClient(bytes("GET /api/v1/health HTTP/1.1\r\n"), 10, T);
  for (let t = 300; t <= 900; t += 300) c.fromClient(bytes(`X-${t}: a\r\n`), t, T);
  assert.equal(c.overdue(950, T), null);
  c.fromClient(bytes("X-late: a\r\n"), 1200, T);
  assert.equal(c.overdue(1200, T), "request");
});

Deno.test("clock: a head split across chunks ends at its blank line; a slow answer is not late", () => {
  const c = new RequestClock(0);
  c.fromClient(bytes("POST /api/v1/power HTTP/1.1\r\nHost: h\r"), 10, T);
  c.fromClient(bytes("\n\r"), 20, T);
  c.fromClient(bytes("\n{}"), 30, T);
  // The server works on the request for 3 s: neither late nor idle.
  assert.equal(c.overdue(3030, T), null);
  c.fromServer(bytes("HTTP/1.1 200 OK\r\n\r\n{}"), 3030);
  // Kept alive: the next request's clock starts with its first byte.
  assert.equal(c.overdue(7000, T), null);
  c.fromClient(bytes("GET / HTTP/1.1\r\n"), 7000, T);
  assert.equal(c.overdue(7900, T), null);
  assert.equal(c.overdue(8100, T), "request");
});

Deno.test("clock: a body still arriving after the request timeout is late", () => {
  const c = new RequestClock(0);
  c.fromClient(bytes("POST /x HTTP/1.1\r\ncontent-length: 100\r\n\r\n{"), 10, T);
  c.fromClient(bytes("a"), 800, T);
  assert.equal(c.overdue(800, T), null);
  c.fromClient(bytes("b"), 1100, T);
  assert.equal(c.overdue(1100, T), "request");
});

Deno.test("clock: a kept-alive connection with no bytes is idle; a WebSocket is a tunnel", () => {
  const idle = new RequestClock(0);
  idle.fromClient(bytes("GET / HTTP/1.1\r\n\r\n"), 0, T);
  idle.fromServer(bytes("HTTP/1.1 200 OK\r\n\r\n"), 5);
  assert.equal(idle.overdue(5004, T), null);
  assert.equal(idle.overdue(5006, T), "idle");

  const ws = new RequestClock(0);
  ws.fromClient(bytes("GET /api/v1/ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), 0, T);
  ws.fromServer(bytes("HTTP/1.1 101 Switching Protocols\r\n\r\n"), 5);
  assert.ok(ws.tunnel);
  // Frames from the client never count as a slow request head.
  ws.fromClient(bytes("\x81\x05hello"), 4000, T);
  assert.equal(ws.overdue(8000, T), null);
  assert.equal(ws.overdue(9001, T), "idle");
});
