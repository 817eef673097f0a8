/** TcpGate in-process: the server sees the client's address; caps answer; gone clients end streams. */
import assert from "node:assert/strict";
import { SHED_IDLE_MS, TcpGate } from "../../../hub/http/tcp_gate.ts";
import { classifyHead } from "../../../hub/http/gate_priority.ts";
import net from "node:net";

async function withGate(
  limits: { max: number; perAddress: number; reserved?: number },
  fn: (g: { gate: TcpGate; url: string; cancelled: () => number; seen: string[] }) => Promise<void>,
) {
  const ac = new AbortController();
  const seen: string[] = [];
  let cancelled = 0;
  let gate: TcpGate | null = null;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req, info) => {
      seen.push(gate?.clientAddress(info.remoteAddr.port)?.hostname ?? "unknown");
      if (new URL(req.url).pathname === "/stream") {
        // A stream that writes nothing after its first chunk (like SSE between events).
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(": hello\n\n"));
            },
            cancel() {
              cancelled++;
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        );
      }
      return new Response("ok");
    },
  );
  gate = new TcpGate({
    hostname: "127.0.0.1",
    port: 0,
    upstreamPort: server.addr.port,
    limits,
    requestTimeoutMs: 5000,
    idleTimeoutMs: 60_000,
    nofile: 100_000,
    log: () => {},
  });
  gate.setPriority((head) => classifyHead(head, "ADMIN"));
  try {
    await fn({ gate, url: `http://127.0.0.1:${gate.addr.port}`, cancelled: () => cancelled, seen });
  } finally {
    await gate.close();
    ac.abort();
    await server.finished;
  }
}

Deno.test("gate: requests pass through and the server learns the client's address", () =>
  withGate({ max: 10, perAddress: 10 }, async ({ url, seen }) => {
    const res = await fetch(`${url}/`);
    assert.equal(await res.text(), "ok");
    assert.deepEqual(seen, ["127.0.0.1"]);
  }));

Deno.test("gate: a client that goes away ends its stream at once, not at the next write", () =>
  withGate({ max: 10, perAddress: 10 }, async ({ gate, cancelled }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: gate.addr.port });
    await conn.write(new TextEncoder().encode("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(4096);
    let got = "";
    while (!got.includes(": hello")) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.match(got, /: hello/, "the stream is open");
    assert.equal(gate.open, 1);
    conn.close(); // FIN, as a closed browser tab sends
    const deadline = Date.now() + 2000;
    while (cancelled() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelled(), 1, "the server's stream was cancelled");
    assert.equal(gate.open, 0);
  }));

Deno.test("gate: over the cap in all a connection gets 503 busy with Retry-After, then is closed", () =>
  withGate({ max: 1, perAddress: 10 }, async ({ gate, url }) => {
    const held = await Deno.connect({ hostname: "127.0.0.1", port: gate.addr.port });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      assert.equal((await res.json()).error.code, "busy");
      assert.equal(gate.counts.refused, 1);
    } finally {
      held.close();
    }
  }));

/** A connection from `localAddress` (127.0.0.x) that sends `text` first. */
function connectFrom(port: number, localAddress: string, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: "127.0.0.1", port, localAddress }, () => {
      sock.write(text);
      resolve(sock);
    });
    sock.on("error", reject);
  });
}

/** One request on a fresh connection: status, or 0 if the connection was closed unanswered. */
async function statusOf(url: string, init: RequestInit = {}): Promise<number> {
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 }); // never a pooled connection
  const res = await fetch(url, { ...init, client }).catch(() => null);
  await res?.body?.cancel();
  return res?.status ?? 0;
}

Deno.test("gate: near the cap, a kept-alive connection idle between requests is shed, from the address holding most", () =>
  withGate({ max: 10, perAddress: 10, reserved: 2 }, async ({ gate, url }) => {
    const flood: net.Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        // Kept alive after one request, then idle.
        flood.push(
          await connectFrom(gate.addr.port, "127.0.0.2", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
      }
      await new Promise((r) => setTimeout(r, SHED_IDLE_MS + 200));
      assert.equal(gate.open, 10, "the cap is full");
      assert.equal(await statusOf(`${url}/`), 200, "a newcomer is served: an idle one made room");
      assert.equal(gate.counts.shedIdle, 1);
      assert.equal(gate.counts.refused, 0);
    } finally {
      for (const s of flood) s.destroy();
    }
  }));

Deno.test("gate: public slots full of busy connections: the admin token and heartbeats get reserved slots, others 503", () =>
  withGate({ max: 4, perAddress: 10, reserved: 2 }, async ({ gate, url }) => {
    const busy: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        // Mid-request (a head still arriving): not idle, not to be shed.
        busy.push(await connectFrom(gate.addr.port, "127.0.0.2", "GET / HTTP/1.1\r\nHost: x\r\n"));
      }
      await new Promise((r) => setTimeout(r, SHED_IDLE_MS + 200));
      assert.equal(await statusOf(`${url}/`), 503, "a stranger is refused");
      assert.equal(
        await statusOf(`${url}/api/v1/health`, { headers: { authorization: "Bearer ADMIN" } }),
        200,
        "the owner gets in",
      );
      assert.equal(await statusOf(`${url}/api/v1/health?token=ADMIN`), 200);
      assert.equal(
        await statusOf(`${url}/api/v1/agent/heartbeat`, { method: "POST", body: "{}" }),
        200,
        "a heartbeat gets in",
      );
      assert.equal(
        await statusOf(`${url}/`, { headers: { authorization: "Bearer WRONG" } }),
        503,
        "a wrong token is a stranger",
      );
      assert.equal(gate.counts.reservedAdmin, 2);
      assert.equal(gate.counts.reservedAgent, 1);
      assert.equal(gate.counts.shedIdle, 0, "busy connections are not shed");
      // Strangers posing as heartbeats fill the reserve and sit idle: the owner still gets in.
      for (let i = 0; i < 2; i++) {
        busy.push(
          await connectFrom(
            gate.addr.port,
            "127.0.0.3",
            "POST /api/v1/agent/heartbeat HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
          ),
        );
      }
      await new Promise((r) => setTimeout(r, SHED_IDLE_MS + 300));
      assert.equal(gate.open, 6, "public and reserved slots all held");
      assert.equal(
        await statusOf(`${url}/api/v1/health`, { headers: { authorization: "Bearer ADMIN" } }),
        200,
        "an idle reserved connection made room",
      );
      assert.equal(gate.counts.shedIdle, 1);
    } finally {
      for (const s of busy) s.destroy();
    }
  }));

Deno.test("gate priority: the admin token (header or ?token=) and heartbeats, nothing else", () => {
  const head = (line: string, ...headers: string[]) => [line, "Host: x", ...headers].join("\r\n");
  assert.equal(classifyHead(head("GET / HTTP/1.1", "Authorization: Bearer T"), "T"), "admin");
  assert.equal(classifyHead(head("GET / HTTP/1.1", "authorization:bearer T"), "T"), "admin");
  assert.equal(classifyHead(head("GET /api/v1/ws?token=T HTTP/1.1"), "T"), "admin");
  assert.equal(classifyHead(head("POST /api/v1/agent/heartbeat HTTP/1.1"), "T"), "agent");
  assert.equal(classifyHead(head("GET /api/v1/agent/heartbeat HTTP/1.1"), "T"), null);
  assert.equal(classifyHead(head("GET / HTTP/1.1", "Authorization: Bearer X"), "T"), null);
  assert.equal(classifyHead(head("GET / HTTP/1.1", "X-Authorization: Bearer T"), "T"), null);
  assert.equal(classifyHead("garbage", "T"), null);
});
