/**
 * 64 MiB of continuation frames that never finish, sent to the hub process's /api/v1/ws with
 * no token: the socket is closed (1009) long before, and the hub's memory stays flat. Before the
 * bound, Deno's WebSocket joined every fragment in memory (1100 MiB took the hub to 1.25 GiB).
 */
import assert from "node:assert/strict";
import { HubProcess } from "../support/hub_process.ts";
import { clientFrame, rawWebSocket, readUntilClosed } from "../support/ws_frames.ts";

const MiB = 1024 * 1024;

Deno.test("ws fragments: 64 MiB of unfinished fragments get a close (1009) and the hub's RSS stays flat", async () => {
  const dir = await Deno.makeTempDir({ prefix: `ws-fragments-${Deno.pid}-` });
  const hub = await HubProcess.start(dir);
  try {
    const before = hub.rss();
    const conn = await rawWebSocket(hub.port, "/api/v1/ws");
    const closed = readUntilClosed(conn);
    const piece = new Uint8Array(MiB).fill(0x20);
    let sent = 0;
    try {
      await conn.write(clientFrame(1, piece, false)); // a text message begins, never ends
      sent += MiB;
      const more = clientFrame(0, piece, false);
      while (sent < 64 * MiB) {
        await conn.write(more);
        sent += MiB;
      }
    } catch { /* the hub closed the socket: writes fail */ }
    // Without the bound the hub takes it all and never closes: wait a while, then give up.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      closed,
      new Promise<"open">((r) => timer = setTimeout(() => r("open"), 5000)),
    ]);
    clearTimeout(timer);
    const rssAtEnd = hub.rss();
    try {
      conn.close();
    } catch { /* closed */ }
    await closed;
    assert.equal(code, 1009, "a close frame: message too big");
    assert.ok(rssAtEnd - before < 24 * MiB, `RSS at the end ${(rssAtEnd / MiB).toFixed(0)} MiB`);
    assert.ok(sent < 64 * MiB, `closed before all 64 MiB were taken (sent ${sent / MiB} MiB)`);
    // Memory: flat (allowing for the allocator and a loaded machine).
    await new Promise((r) => setTimeout(r, 300));
    const after = hub.rss();
    assert.ok(
      after - before < 24 * MiB,
      `RSS ${(before / MiB).toFixed(0)} → ${(after / MiB).toFixed(0)} MiB`,
    );
    const res = await hub.fetch("/metrics");
    const text = await res.text();
    assert.match(
      text,
      /^cluster_connections_closed_total\{module="[^"]*",reason="ws_message_too_big"\} 1$/m,
    );
    assert.match(text, /^cluster_ws_assembly_max_bytes\{module="[^"]*"\} 0$/m);
    // The hub serves on.
    const health = await hub.fetch("/api/v1/health");
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    assert.equal(await hub.stop(), 0, hub.output);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ws fragments: a message begun and never finished is closed at the deadline (1008)", async () => {
  const dir = await Deno.makeTempDir({ prefix: `ws-deadline-${Deno.pid}-` });
  const hub = await HubProcess.start(dir, ["--ws-message-timeout-ms", "1000"]);
  try {
    const conn = await rawWebSocket(hub.port, "/api/v1/ws");
    const closed = readUntilClosed(conn);
    await conn.write(clientFrame(1, new TextEncoder().encode('{"type":'), false));
    const t0 = Date.now();
    assert.equal(await closed, 1008);
    assert.ok(Date.now() - t0 < 5000, "closed at the 1 s deadline, not the idle timeout");
    conn.close();
  } finally {
    assert.equal(await hub.stop(), 0, hub.output);
    await Deno.remove(dir, { recursive: true });
  }
});
