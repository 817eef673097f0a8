/**
 * Node consoles over HTTP: admin token only, a bay without a console is a clear 404, history
 * survives a hub restart, a raw TCP or unix-socket console (console server, ser2net, QEMU) works
 * both ways, and the WebSocket takes the token as ?token= for browsers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SocketConsoleSource } from "../../hub/console/socket_source.ts";
import { ConsoleHistory } from "../../shared/console_schemas.ts";
import { ConsoleClient } from "../support/console_client.ts";
import { serveTestHub, startTestHub } from "../support/test_hub.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function historyTexts(t: Awaited<ReturnType<typeof startTestHub>>, node: number) {
  const res = await t.call("GET", `/api/v1/nodes/${node}/console?lines=500`);
  assert.equal(res.status, 200);
  return ConsoleHistory.parse(await res.json()).lines.map((l) => l.text);
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test({
  name: "console API: admin token only; bad ids, lines and bays without a console are clear 4xx",
  ...opts,
  fn: async () => {
    const source = new SocketConsoleSource({ host: "127.0.0.1", port: 9 });
    const t = await startTestHub({ overrides: { consoles: new Map([[1, source]]) } });
    try {
      const noToken = await t.call("GET", "/api/v1/nodes/1/console", undefined, { auth: false });
      assert.equal(noToken.status, 401);
      const wrong = await t.call("GET", "/api/v1/nodes/1/console", undefined, { auth: "nope" });
      assert.equal(wrong.status, 401);
      // ?token= is for the WebSocket only (browsers cannot set its headers).
      const query = await t.call(
        "GET",
        `/api/v1/nodes/1/console?token=${t.hub.token.value}`,
        undefined,
        { auth: false },
      );
      assert.equal(query.status, 401);

      const none = await t.call("GET", "/api/v1/nodes/2/console");
      assert.equal(none.status, 404);
      const body = await none.json();
      assert.equal(body.error.code, "not_found");
      assert.match(body.error.message, /node 2 has no console: add it under "consoles"/);
      const wsNone = await t.call("GET", "/api/v1/nodes/2/console/ws", undefined, {});
      assert.equal(wsNone.status, 404, "the WebSocket says the same before upgrading");

      assert.equal((await t.call("GET", "/api/v1/nodes/61/console")).status, 400);
      const lines = await t.call("GET", "/api/v1/nodes/1/console?lines=abc");
      assert.equal(lines.status, 400);
      assert.match((await lines.json()).error.message, /lines must be a whole number/);
      const plain = await t.call("GET", "/api/v1/nodes/1/console/ws");
      assert.equal(plain.status, 400, "a plain GET on the WebSocket endpoint");
      assert.match((await plain.json()).error.message, /WebSocket endpoint/);

      const ok = ConsoleHistory.parse(
        await (await t.call("GET", "/api/v1/nodes/1/console")).json(),
      );
      assert.equal(ok.source.kind, "tcp");
      assert.equal(ok.source.describe, "tcp 127.0.0.1:9");
    } finally {
      await t.close();
      await Deno.remove(t.dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "console: history survives a hub restart (files 0600 in a 0700 directory)",
  ...opts,
  fn: async () => {
    const t = await serveTestHub();
    const dataDir = t.dataDir;
    let again: Awaited<ReturnType<typeof startTestHub>> | null = null;
    try {
      assert.equal((await t.call("POST", "/api/v1/nodes/4/power", { state: "on" })).status, 200);
      const c = new ConsoleClient(t.url, 4, t.hub.token.value);
      await c.until((x) => x.output.includes("node04 login: "), "the login prompt");
      c.type("pi\rpw\recho kept-across-restart\r");
      await c.until((x) => /\r\nkept-across-restart\r\n/.test(x.output), "the command's answer");
      await c.close();
      const before = await historyTexts(t, 4);
      await t.close();

      const restartedAt = Date.now();
      again = await startTestHub({ dataDir });
      const after = await historyTexts(again, 4);
      assert.ok(after.includes("kept-across-restart"), after.join("\n"));
      // The node is restored on and boots again: its output continues the open prompt line.
      assert.deepEqual(
        after.slice(0, before.length - 1),
        before.slice(0, -1),
        "the same lines, in order",
      );
      const res = await again.call("GET", "/api/v1/nodes/4/console?lines=500");
      const kept = ConsoleHistory.parse(await res.json()).lines.find((l) =>
        l.text === "kept-across-restart"
      );
      assert.ok(kept && kept.at < restartedAt, "stamped with when it arrived, before the restart");
      const st = await Deno.stat(join(dataDir, "console", "node04.log"));
      assert.equal(st.mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(join(dataDir, "console"))).mode! & 0o777, 0o700);
    } finally {
      await again?.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** A console server in the test: accepts one connection at a time, records what it gets. */
function consoleServer(listener: Deno.Listener) {
  const state = { conns: [] as Deno.Conn[], received: "" };
  (async () => {
    for await (const conn of listener) {
      state.conns.push(conn);
      (async () => {
        const buf = new Uint8Array(1024);
        for (;;) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          state.received += new TextDecoder().decode(buf.subarray(0, n));
        }
      })();
    }
  })().catch(() => {});
  return state;
}

for (const transport of ["tcp", "unix"] as const) {
  Deno.test({
    name: `console: a ${transport} console (console server, ser2net, QEMU) both ways, reconnects`,
    ...opts,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "cm-console-sock-" });
      const listener = transport === "tcp"
        ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
        : Deno.listen({ transport: "unix", path: join(dir, "node05.sock") });
      const server = consoleServer(listener);
      const address = transport === "tcp"
        ? { host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }
        : { path: join(dir, "node05.sock") };
      const t = await serveTestHub({
        overrides: {
          consoles: new Map([[5, new SocketConsoleSource(address)]]),
          consoleLimits: { minBackoffMs: 20, maxBackoffMs: 100 },
        },
      });
      try {
        await until(() => server.conns.length === 1, "the hub connects at start");
        const conn = server.conns[0];
        await conn.write(new TextEncoder().encode("QEMU boot\r\nnode05 login: "));
        await until(
          async () => (await historyTexts(t, 5)).at(-1) === "node05 login: ",
          "history while no one watches",
        );
        // The browser's way in: ?token= on the upgrade request.
        const ws = new WebSocket(
          `${
            t.url.replace("http", "ws")
          }/api/v1/nodes/5/console/ws?client=test&token=${t.hub.token.value}`,
        );
        ws.binaryType = "arraybuffer";
        let out = "";
        ws.onmessage = (e) => {
          if (typeof e.data !== "string") out += new TextDecoder().decode(e.data);
        };
        await new Promise((r) => (ws.onopen = r));
        ws.send(JSON.stringify({ type: "input", data: "root\r" }));
        await until(() => server.received === "root\r", "input reaches the console server");
        await until(() => out.includes("node05 login: "), "history on the socket");

        // The server drops the connection (QEMU restarted): the hub connects again.
        conn.close();
        await until(() => server.conns.length === 2, "reconnected");
        await server.conns[1].write(new TextEncoder().encode("\r\nagain\r\n"));
        await until(() => out.includes("again"), "output after the reconnect");
        ws.close();
        await until(() => t.hub.consoles.console(5).viewerCount === 0, "detached");
      } finally {
        await t.close();
        listener.close();
        for (const c of server.conns) {
          try {
            c.close();
          } catch { /* closed */ }
        }
        await Deno.remove(t.dataDir, { recursive: true });
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "console WebSocket: a wrong token is refused before the upgrade; too many viewers is 409",
  ...opts,
  fn: async () => {
    const t = await serveTestHub({ overrides: { consoleLimits: { maxViewers: 1 } } });
    try {
      const up = { upgrade: "websocket" };
      const bad = await t.hub.app.request("/api/v1/nodes/3/console/ws?token=wrong", {
        headers: up,
      });
      assert.equal(bad.status, 401);
      const first = new ConsoleClient(t.url, 3, t.hub.token.value, "client=first");
      await first.until((c) => c.ofType("live").length === 1, "attached");
      const second = await t.hub.app.request("/api/v1/nodes/3/console/ws", {
        headers: { ...up, authorization: `Bearer ${t.hub.token.value}` },
      });
      assert.equal(second.status, 409);
      assert.match((await second.json()).error.message, /1 viewers already/);
      await first.close();
    } finally {
      await t.close();
      await Deno.remove(t.dataDir, { recursive: true });
    }
  },
});
