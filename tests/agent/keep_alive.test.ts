/**
 * The agent's keep-alive transport against real HTTP servers on 127.0.0.1: one connection for
 * many heartbeats, a new one when the hub closed the old, chunked and close-delimited
 * answers, and an abort that does not wait for a hanging hub.
 */
import assert from "node:assert/strict";
import { KeepAlivePoster } from "../../node-agent/keep_alive.ts";

const HEADERS = { authorization: "Bearer k", "content-type": "application/json" };

Deno.test("keep-alive: three posts travel on one connection to Deno.serve, headers and body intact", async () => {
  const peers: number[] = [];
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      peers.push((info.remoteAddr as Deno.NetAddr).port);
      seen.push(
        `${req.method} ${new URL(req.url).pathname} ${req.headers.get("authorization")} ${
          req.headers.get("content-type")
        } ${await req.text()}`,
      );
      return Response.json({ node: 7, led: null, intervalMs: 1000 });
    },
  );
  const poster = new KeepAlivePoster(
    `http://127.0.0.1:${server.addr.port}/api/v1/agent/heartbeat`,
    HEADERS,
  );
  try {
    for (const n of [1, 2, 3]) {
      const a = await poster.post(`{"n":${n},"é":"ü"}`, new AbortController().signal);
      assert.equal(a.status, 200);
      assert.deepEqual(JSON.parse(a.text), { node: 7, led: null, intervalMs: 1000 });
    }
    assert.equal(new Set(peers).size, 1, `one connection, not ${new Set(peers).size}`);
    assert.deepEqual(
      seen,
      [1, 2, 3].map((n) =>
        `POST /api/v1/agent/heartbeat Bearer k application/json {"n":${n},"é":"ü"}`
      ),
    );
  } finally {
    poster.close();
    await server.shutdown();
  }
});

/** A raw HTTP server: `answer(request number)` gives the bytes to send; `closeAfter` closes. */
function rawServer(answer: (n: number) => { bytes: string; closeAfter?: boolean; hang?: boolean }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let requests = 0;
  let connections = 0;
  const conns = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      connections++;
      conns.add(conn);
      (async () => {
        const buf = new Uint8Array(8192);
        let text = "";
        try {
          while (true) {
            const n = await conn.read(buf);
            if (n === null) break;
            text += new TextDecoder().decode(buf.subarray(0, n));
            const end = text.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const len = Number(/content-length: ([0-9]+)/i.exec(text)?.[1] ?? 0);
            if (text.length < end + 4 + len) continue;
            text = "";
            const a = answer(++requests);
            if (a.hang) continue;
            await conn.write(new TextEncoder().encode(a.bytes));
            if (a.closeAfter) break;
          }
        } catch { /* closed */ }
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await served.catch(() => {});
    },
  };
}

const OK = (body: string) =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

Deno.test("keep-alive: a connection the hub closed while idle is replaced, and the post succeeds", async () => {
  // Answers with keep-alive semantics, then closes the connection anyway (an idle timeout).
  const srv = rawServer(() => ({ bytes: OK('{"ok":1}'), closeAfter: true }));
  const poster = new KeepAlivePoster(`http://127.0.0.1:${srv.port}/x`, HEADERS);
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 20)); // let the close arrive
      const a = await poster.post("{}", new AbortController().signal);
      assert.deepEqual([a.status, a.text], [200, '{"ok":1}']);
    }
    assert.equal(srv.requests, 3);
    assert.equal(srv.connections, 3);
  } finally {
    poster.close();
    await srv.close();
  }
});

Deno.test("keep-alive: chunked, 204, close-delimited and Connection: close answers", async () => {
  const answers = [
    "HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n" +
    '5\r\n{"err\r\n4;x=y\r\nor":\r\n3\r\n42}\r\n0\r\n\r\n',
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
    'HTTP/1.0 200 OK\r\n\r\n{"v":1}',
  ];
  const srv = rawServer((n) => ({ bytes: answers[n - 1], closeAfter: n >= 3 }));
  const poster = new KeepAlivePoster(`http://127.0.0.1:${srv.port}/x`, HEADERS);
  try {
    const s = new AbortController().signal;
    assert.deepEqual(await poster.post("{}", s), { status: 401, text: '{"error":42}' });
    assert.equal(poster.connected, true);
    assert.deepEqual(await poster.post("{}", s), { status: 204, text: "" }); // no body: no wait
    assert.equal(poster.connected, true);
    assert.deepEqual(await poster.post("{}", s), { status: 200, text: "{}" });
    assert.equal(poster.connected, false, "Connection: close drops the connection");
    assert.deepEqual(await poster.post("{}", s), { status: 200, text: '{"v":1}' });
    assert.equal(srv.connections, 2);
  } finally {
    poster.close();
    await srv.close();
  }
});

Deno.test("keep-alive: an abort ends a post the hub never answers, at once", async () => {
  const srv = rawServer(() => ({ bytes: "", hang: true }));
  const poster = new KeepAlivePoster(`http://127.0.0.1:${srv.port}/x`, HEADERS);
  try {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(poster.post("{}", ac.signal), /aborted/);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(poster.connected, false);
  } finally {
    poster.close();
    await srv.close();
  }
});

Deno.test("keep-alive: nothing listening is a plain error, and https is refused up front", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const poster = new KeepAlivePoster(`http://127.0.0.1:${port}/x`, HEADERS);
  await assert.rejects(poster.post("{}", new AbortController().signal), /refused/i);
  assert.throws(() => new KeepAlivePoster("https://hub/x", HEADERS), /http: only/);
});
