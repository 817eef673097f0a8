/**
 * The heartbeat pass's transport (node-agent/pass_transport.ts) over the model of a
 * non-blocking socket (tests/support/fakes/fake_socket.ts): EAGAIN, partial reads and writes,
 * the peer's close and reset.
 */
import assert from "node:assert/strict";
import { SocketPassTransport } from "../../node-agent/pass_transport.ts";
import { FakeSocket } from "../support/fakes/fake_socket.ts";

const URL_ = "http://10.42.0.250:4242/api/v1/agent/heartbeat";
const OK = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${extra}content-length: ${body.length}\r\n\r\n${body}`;

function setup() {
  const sockets: FakeSocket[] = [];
  const connects: [string, number, number][] = [];
  const t = new SocketPassTransport(URL_, { authorization: "Bearer k" }, (host, port, ms) => {
    connects.push([host, port, ms]);
    const s = new FakeSocket();
    sockets.push(s);
    return s;
  }, 500);
  return { t, sockets, connects };
}

Deno.test("pass transport: sends the request whole (partial writes), the answer is collected later without blocking", () => {
  const { t, sockets, connects } = setup();
  const body = JSON.stringify({ seq: 1 });
  t.send(body);
  assert.deepEqual(connects, [["10.42.0.250", 4242, 500]]);
  const s = sockets[0];
  assert.match(
    s.sentText,
    /^POST \/api\/v1\/agent\/heartbeat HTTP\/1\.1\r\nhost: 10\.42\.0\.250:4242\r\n/,
  );
  assert.ok(s.sentText.endsWith(`content-length: ${body.length}\r\n\r\n${body}`));
  assert.equal(t.poll(), undefined, "nothing there yet (EAGAIN)");
  s.maxRead = 7; // the answer comes in pieces
  const answer = OK('{"node":9,"led":null,"intervalMs":1000}');
  s.peerWrite(answer.slice(0, 20));
  assert.equal(t.poll(), undefined, "half an answer");
  s.peerWrite(answer.slice(20));
  assert.deepEqual(t.poll(), { status: 200, text: '{"node":9,"led":null,"intervalMs":1000}' });
  assert.equal(t.poll(), undefined, "answered: nothing waits");
  // the connection is kept for the next request; partial writes are completed
  s.sendRoom = 5;
  t.send(body);
  assert.equal(sockets.length, 1);
  assert.equal(s.sentText.split("POST ").length - 1, 2);
  assert.ok(s.sentText.endsWith(body));
  assert.throws(() => t.send(body), /still waiting/);
});

Deno.test("pass transport: a reset or a close mid-answer fails the poll and drops the connection; the next send connects again", () => {
  const { t, sockets } = setup();
  t.send("{}");
  sockets[0].peerWrite("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{");
  sockets[0].peerReset();
  assert.throws(() => t.poll(), /Connection reset by peer/);
  assert.ok(sockets[0].closed);
  assert.ok(!t.connected);
  t.send("{}");
  assert.equal(sockets.length, 2);
  sockets[1].peerWrite("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{");
  sockets[1].peerClose();
  assert.throws(() => t.poll(), /closed the connection mid-answer/);
  assert.ok(sockets[1].closed);
});

Deno.test("pass transport: an idle connection the hub closed is replaced before sending, not written into", () => {
  const { t, sockets } = setup();
  t.send("{}");
  sockets[0].peerWrite(OK("{}"));
  assert.equal(t.poll()?.status, 200);
  sockets[0].peerClose(); // the hub's idle timeout, between heartbeats
  t.send("{}");
  assert.equal(sockets.length, 2, "a new connection");
  assert.equal(
    sockets[0].sentText.split("POST ").length - 1,
    1,
    "nothing sent into the closed one",
  );
  assert.ok(sockets[0].closed);
  assert.equal(sockets[1].sentText.split("POST ").length - 1, 1);
});

Deno.test("pass transport: an answer that says close, or ends at the close, drops the connection after it", () => {
  const { t, sockets } = setup();
  t.send("{}");
  sockets[0].peerWrite(OK('{"a":1}', "connection: close\r\n"));
  assert.deepEqual(t.poll(), { status: 200, text: '{"a":1}' });
  assert.ok(!t.connected);
  t.send("{}");
  sockets[1].peerWrite('HTTP/1.0 500 Internal\r\n\r\n{"error":1}');
  assert.equal(t.poll(), undefined, "no length: the body ends at the close");
  sockets[1].peerClose();
  assert.deepEqual(t.poll(), { status: 500, text: '{"error":1}' });
  assert.ok(!t.connected);
});

Deno.test("pass transport: a connect that fails throws, and the next send tries again", () => {
  let fail = true;
  const sockets: FakeSocket[] = [];
  const t = new SocketPassTransport(URL_, {}, () => {
    if (fail) throw new Error("connect to 10.42.0.250:4242: Connection refused");
    sockets.push(new FakeSocket());
    return sockets.at(-1)!;
  }, 500);
  assert.throws(() => t.send("{}"), /Connection refused/);
  assert.equal(t.poll(), undefined, "nothing was sent: nothing to wait for");
  fail = false;
  t.send("{}");
  assert.equal(sockets.length, 1);
});

Deno.test("pass transport: an answer over the bound fails rather than growing without end", () => {
  const { t, sockets } = setup();
  t.send("{}");
  sockets[0].peerWrite(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${"x".repeat(70_000)}`);
  assert.throws(() => t.poll(), /over 65536 bytes/);
  assert.ok(!t.connected);
});

Deno.test("pass transport: a complete answer is taken with the reads it needs, none more to see EAGAIN", () => {
  const { t, sockets } = setup();
  t.send(JSON.stringify({ seq: 1 }));
  const s = sockets[0];
  let reads = 0;
  const recv = s.recv.bind(s);
  s.recv = (into) => (reads++, recv(into));
  s.peerWrite(OK('{"node":9,"led":null,"intervalMs":1000}'));
  assert.deepEqual(t.poll(), { status: 200, text: '{"node":9,"led":null,"intervalMs":1000}' });
  assert.equal(reads, 1);
  t.send(JSON.stringify({ seq: 2 }));
  reads = 0;
  s.maxRead = 40; // in pieces: one read each, then framed
  s.peerWrite(OK('{"node":9,"led":null,"intervalMs":1000}'));
  assert.ok(t.poll());
  assert.equal(reads, Math.ceil(OK('{"node":9,"led":null,"intervalMs":1000}').length / 40));
});
