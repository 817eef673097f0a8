/**
 * The libc socket (node-agent/sync_socket.ts) against a real loopback TCP server: a socket
 * that is really non-blocking (recv with MSG_DONTWAIT), partial arrival, the peer's close and
 * reset, a refused connect; and the heartbeat pass's transport over it.
 */
import assert from "node:assert/strict";
import { connectTcp, ipv4Of, sockaddrIn } from "../../node-agent/sync_socket.ts";
import { SocketPassTransport } from "../../node-agent/pass_transport.ts";
import { ECONNREFUSED, ECONNRESET, EPIPE, OsError } from "../../shared/libc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `recv` (never blocking) until `n` bytes came or 5 s passed. */
async function recvAll(s: ReturnType<typeof connectTcp>, n: number): Promise<string> {
  const buf = new Uint8Array(4096);
  let got = "";
  const end = Date.now() + 5000;
  while (got.length < n && Date.now() < end) {
    const k = s.recv(buf);
    if (k === 0) break;
    if (k === null) await sleep(5);
    else got += new TextDecoder().decode(buf.subarray(0, k));
  }
  return got;
}

Deno.test("sync socket: IPv4 literals and sockaddr_in", () => {
  assert.deepEqual(ipv4Of("10.42.0.250"), new Uint8Array([10, 42, 0, 250]));
  assert.deepEqual(ipv4Of("localhost"), new Uint8Array([127, 0, 0, 1]));
  assert.equal(ipv4Of("hub.local"), undefined);
  assert.equal(ipv4Of("10.42.0.256"), undefined);
  assert.equal(ipv4Of("::1"), undefined);
  assert.deepEqual(
    [...sockaddrIn(new Uint8Array([127, 0, 0, 1]), 4242).subarray(0, 8)],
    [2, 0, 0x10, 0x92, 127, 0, 0, 1],
  );
});

Deno.test("sync socket: recv never blocks (null while nothing came), sends arrive, reads what came in pieces, 0 at the peer's close", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const accepted = listener.accept();
  const s = connectTcp("127.0.0.1", port, 500);
  const peer = await accepted;
  try {
    const buf = new Uint8Array(64);
    const t0 = performance.now();
    assert.equal(s.recv(buf), null, "EAGAIN: nothing there");
    assert.ok(performance.now() - t0 < 50, "and it did not wait");
    assert.equal(s.send(new TextEncoder().encode("ping")), 4);
    const got = new Uint8Array(4);
    let n = 0;
    while (n < 4) n += (await peer.read(got.subarray(n)))!;
    assert.equal(new TextDecoder().decode(got), "ping");
    await peer.write(new TextEncoder().encode("po"));
    await sleep(20);
    await peer.write(new TextEncoder().encode("ng"));
    assert.equal(await recvAll(s, 4), "pong");
    peer.close();
    await sleep(20);
    assert.equal(s.recv(buf), 0, "the peer closed");
  } finally {
    s.close();
    s.close(); // idempotent
    listener.close();
  }
  assert.throws(() => s.recv(new Uint8Array(1)), /closed socket/);
});

Deno.test("sync socket: data sent into a connection the peer closed is answered with a reset (EPIPE/ECONNRESET, never SIGPIPE); a refused connect is a typed error naming the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const accepted = listener.accept();
  const s = connectTcp("127.0.0.1", port, 500);
  (await accepted).close();
  listener.close();
  let e: unknown;
  for (let i = 0; i < 100 && e === undefined; i++) {
    await sleep(10);
    try {
      s.send(new TextEncoder().encode("x")); // the first is queued; the peer answers RST
    } catch (err) {
      e = err;
    }
  }
  s.close();
  assert.ok(e instanceof OsError, String(e));
  assert.ok([EPIPE, ECONNRESET].includes(e.errno), e.message);
  assert.match(e.message, /^send: (Broken pipe|Connection reset by peer)$/);
  const refused = (() => {
    try {
      connectTcp("127.0.0.1", port, 500).close();
    } catch (e) {
      return e;
    }
  })();
  assert.ok(refused instanceof OsError);
  assert.equal(refused.errno, ECONNREFUSED);
  assert.match(refused.message, /connect to 127\.0\.0\.1:\d+: Connection refused/);
  assert.throws(() => connectTcp("hub.local", 80, 500), /not an IPv4 address/);
});

Deno.test("sync socket: the pass transport against a real HTTP server: send now, answer at a later poll", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => Response.json({ got: await req.json(), auth: req.headers.get("authorization") }),
  );
  const t = new SocketPassTransport(
    `http://127.0.0.1:${server.addr.port}/api/v1/agent/heartbeat`,
    { authorization: "Bearer k", "content-type": "application/json" },
    connectTcp,
    500,
  );
  try {
    for (let seq = 0; seq < 3; seq++) {
      t.send(JSON.stringify({ seq }));
      let answer;
      for (let i = 0; i < 200 && !answer; i++) {
        answer = t.poll();
        if (!answer) await sleep(5); // the event loop serves the request meanwhile
      }
      assert.deepEqual(answer && JSON.parse(answer.text), { got: { seq }, auth: "Bearer k" });
      assert.equal(answer?.status, 200);
    }
  } finally {
    t.close();
    await server.shutdown();
  }
});
