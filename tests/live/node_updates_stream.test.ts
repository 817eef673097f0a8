/**
 * Node updates on the wire: `GET /events?updates=nodes` (SSE, no id) and WebSockets subscribed
 * with `"updates":"nodes"`. Without asking, clients get events only, as before.
 */
import assert from "node:assert/strict";
import { NodeUpdate } from "../../shared/schemas.ts";
import { ServerFrame } from "../../shared/ws_schemas.ts";
import { sendHeartbeat, serveTestHub, SseReader, waitFor } from "./live_support.ts";

Deno.test("SSE: ?updates=nodes adds node_updated messages without id, health included", async () => {
  const h = await serveTestHub();
  try {
    const asked = new SseReader(await fetch(`${h.base}/api/v1/events?updates=nodes`));
    const plain = new SseReader(await fetch(`${h.base}/api/v1/events`));
    await asked.until((m) => m.length > 0);
    await plain.until((m) => m.length > 0);
    await h.call("POST", "/api/v1/nodes/4/power", { state: "on" });
    await sendHeartbeat(h, 4, { load1: 0.25, temp: 51.5 });
    const msgs = await asked.until((m) =>
      m.some((x) => x.event === "node_updated" && x.data?.includes('"agent"'))
    );
    const updates = msgs.filter((m) => m.event === "node_updated");
    for (const m of updates) assert.equal(m.id, undefined, "no id: the resume point stays");
    const beat = NodeUpdate.parse(JSON.parse(updates.at(-1)!.data!));
    assert.equal(beat.node, 4);
    assert.equal(beat.changes.agent?.health?.load1, 0.25);
    assert.equal(beat.changes.agent?.health?.cpuTempCelsius, 51.5);
    assert.equal(beat.changes.lifecycle, "running");

    // The plain stream has the same events and no updates.
    const last = h.hub.events.emit("fault", 4, "marker", {});
    await plain.until((m) => m.some((x) => x.id === String(last.id)));
    assert.equal(plain.messages.filter((m) => m.event === "node_updated").length, 0);

    const bad = await fetch(`${h.base}/api/v1/events?updates=all`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "bad_request");
    await asked.cancel();
    await plain.cancel();
  } finally {
    await h.stop();
  }
});

Deno.test("WS: subscribe with updates: nodes gets node_updated frames", async () => {
  const h = await serveTestHub();
  const frames: ServerFrame[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/api/v1/ws`);
  ws.onmessage = (e) => frames.push(ServerFrame.parse(JSON.parse(e.data)));
  try {
    await waitFor(() => ws.readyState === WebSocket.OPEN, "socket open");
    ws.send(JSON.stringify({ id: 1, type: "subscribe", updates: "nodes" }));
    await waitFor(() => frames.some((f) => f.type === "result" && f.id === 1), "subscribed");
    await h.call("POST", "/api/v1/nodes/9/power", { state: "on" });
    await sendHeartbeat(h, 9, { led: "identify" });
    await waitFor(
      () => frames.some((f) => f.type === "node_updated" && f.update.changes.agent?.led),
      "a node_updated frame with the agent's LED",
    );
    const u = frames.filter((f) => f.type === "node_updated").at(-1)!;
    assert.equal(u.type === "node_updated" && u.update.node, 9);
    assert.ok(frames.some((f) => f.type === "event" && f.event.type === "power_changed"));
  } finally {
    ws.close();
    await waitFor(() => ws.readyState === WebSocket.CLOSED, "socket closed");
    await h.stop();
  }
});
