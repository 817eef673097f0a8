/** TcpGate in-process: the server sees the client's address; caps answer; gone clients end streams. */
import assert from "node:assert/strict";
import { TcpGate } from "../../../hub/http/tcp_gate.ts";

async function withGate(
  limits: { max: number; perAddress: number },
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
