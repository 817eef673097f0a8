/**
 * Floods of WebSockets and event streams: caps per address and in all, refused
 * with 429/503 and Retry-After before any feed is opened; a stalled socket is closed with
 * 1013; an event is serialised once, however many clients receive it.
 */
import assert from "node:assert/strict";
import { WsSession } from "../../hub/http/routes/ws.ts";
import { sseResponse, SseStreams } from "../../hub/http/routes/events.ts";
import { VERSION } from "../../hub/version.ts";
import { DEFAULT_LIMITS, type HubLimits } from "../../hub/http/limits.ts";
import { startTestHub } from "../support/test_hub.ts";
import { type ServedHub, serveTestHub, waitFor } from "./live_support.ts";

function limits(over: Partial<HubLimits>): HubLimits {
  return { ...DEFAULT_LIMITS, ...over };
}

/** Opens a WebSocket; resolves with it once open, or with the refusal's close. */
function openWs(h: ServedHub, token?: string): Promise<WebSocket | null> {
  const url = `ws://127.0.0.1:${h.port}/api/v1/ws${token ? `?token=${token}` : ""}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => resolve(null);
  });
}

/** The answer to a WebSocket upgrade request sent as plain HTTP (to read status and headers). */
async function upgradeAnswer(h: ServedHub): Promise<Response> {
  const res = await fetch(`${h.base}/api/v1/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  return res;
}

Deno.test("flood: WebSockets past the per-address cap get 429, past the cap in all 503; the token holder still gets in", async () => {
  const h = await serveTestHub({
    settings: { limits: limits({ ws: { max: 4, perAddress: 3, reserved: 1 } }) },
  });
  const open: WebSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const ws = await openWs(h);
      assert.ok(ws, `socket ${i + 1} of 3 opens`);
      open.push(ws);
    }
    assert.equal(await openWs(h), null, "a fourth from the same address is refused");
    const refused = await upgradeAnswer(h);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "5");
    // A token holder is not held to the per-address cap: the fourth slot, then the reserve.
    const admin1 = await openWs(h, h.hub.token.value);
    const admin2 = await openWs(h, h.hub.token.value);
    assert.ok(admin1 && admin2, "the operator gets in over the public cap");
    open.push(admin1, admin2);
    assert.equal(await openWs(h, h.hub.token.value), null, "the reserve is bounded too");
    const full = await upgradeAnswer(h);
    assert.equal(full.status, 503, "the hub is full for public sockets");
    assert.equal((await full.json()).error.code, "busy");
    // Closing sockets frees their slots.
    for (const ws of open.splice(0, 3)) ws.close();
    await waitFor(async () => {
      const ws = await openWs(h);
      if (ws) open.push(ws);
      return ws !== null;
    }, "a slot is free again");
  } finally {
    for (const ws of open) ws.close();
    await h.stop();
  }
});

Deno.test("flood: event streams past the per-address cap get 429, past the cap in all 503, and free their slot on close", async () => {
  const h = await serveTestHub({
    settings: { limits: limits({ sse: { max: 2, perAddress: 2 } }) },
  });
  const streams: AbortController[] = [];
  const stream = async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.base}/api/v1/events`, { signal: ac.signal });
    if (res.status === 200) streams.push(ac);
    return res;
  };
  try {
    assert.equal((await stream()).status, 200);
    assert.equal((await stream()).status, 200);
    const third = await stream();
    // Both caps are full here; the per-address one is checked after the one in all.
    assert.equal(third.status, 503);
    assert.equal(third.headers.get("retry-after"), "5");
    assert.equal((await third.json()).error.code, "busy");
    streams.shift()!.abort();
    await waitFor(async () => {
      const res = await stream();
      if (res.status !== 200) await res.body?.cancel();
      return res.status === 200;
    }, "the slot comes back");
  } finally {
    for (const ac of streams) ac.abort();
    await h.stop();
  }
});

Deno.test("flood: the per-address stream cap answers 429 with the reason", async () => {
  const h = await serveTestHub({
    settings: { limits: limits({ sse: { max: 10, perAddress: 1 } }) },
  });
  const ac = new AbortController();
  try {
    const first = await fetch(`${h.base}/api/v1/events`, { signal: ac.signal });
    assert.equal(first.status, 200);
    const second = await fetch(`${h.base}/api/v1/events`);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("retry-after"), "5");
    const body = await second.json();
    assert.equal(body.error.code, "too_many_connections");
    assert.match(body.error.message, /127\.0\.0\.1 already holds 1 event streams/);
  } finally {
    ac.abort();
    await h.stop();
  }
});

Deno.test("flood: a socket whose send buffer stays full is closed with 1013", async () => {
  const t = await startTestHub();
  const closed: [number, string][] = [];
  const peer = {
    bufferedAmount: 0,
    send: () => {},
    close: (code: number, reason: string) => closed.push([code, reason]),
  };
  const { status, powerControl: power, nodeSettings: settings, events, jobs } = t.hub;
  const session = new WsSession(
    peer,
    { status, power, settings, events, jobs, adminToken: "x", version: VERSION },
    false,
    { highWaterBytes: 1000, pollMs: 5, stallMs: 100 },
  );
  try {
    await session.message(JSON.stringify({ id: 1, type: "subscribe" }));
    peer.bufferedAmount = 5000; // the client stopped reading
    events.emit("fault", 1, "nobody reads this");
    await waitFor(() => closed.length > 0, "stalled socket closed");
    assert.equal(closed[0][0], 1013);
    assert.match(closed[0][1], /too slow/);
  } finally {
    session.close();
    await t.close();
  }
});

Deno.test("flood: an event is serialised once for all subscribed sockets", async () => {
  const t = await startTestHub();
  const { status, powerControl: power, nodeSettings: settings, events, jobs } = t.hub;
  const sent: string[][] = [];
  const sessions = Array.from({ length: 50 }, (_, i) => {
    sent.push([]);
    return new WsSession(
      { bufferedAmount: 0, send: (s) => sent[i].push(s), close: () => {} },
      { status, power, settings, events, jobs, adminToken: "x", version: VERSION },
      false,
    );
  });
  const stringify = JSON.stringify;
  let eventFrames = 0;
  try {
    for (const s of sessions) await s.message(stringify({ id: 1, type: "subscribe" }));
    await new Promise((r) => setTimeout(r, 50)); // the feeds have caught up and wait live
    JSON.stringify = ((value: unknown, ...rest: []) => {
      if ((value as { type?: string })?.type === "event") eventFrames++;
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    const e = events.emit("fault", 7, "one event, fifty sockets");
    await waitFor(() => sent.every((s) => s.some((x) => x.includes(`"id":${e.id}`))), "all got it");
    assert.equal(eventFrames, 1, `serialised once, not once per socket (was ${eventFrames})`);
  } finally {
    JSON.stringify = stringify;
    for (const s of sessions) s.close();
    await t.close();
  }
});

Deno.test("flood: a burst of events goes to an event stream in a few writes, not one per event", async () => {
  const t = await startTestHub();
  const writes = async (coalesceMs: number) => {
    const streams = new SseStreams();
    const res = sseResponse(t.hub.events, null, streams, { coalesceMs });
    const reader = res.body!.getReader();
    await reader.read(); // retry: and the resume comment
    const first = t.hub.events.latest(1)[0].id + 1;
    // 40 events over ~10 ms, as when 60 bays switch one after another.
    (async () => {
      for (let i = 0; i < 40; i++) {
        t.hub.events.emit("fault", 1, `burst ${i}`);
        if (i % 4 === 3) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    let chunks = 0;
    let text = "";
    while (!text.includes(`id: ${first + 39}\n`)) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      chunks++;
    }
    streams.closeAll();
    return chunks;
  };
  try {
    const gathered = await writes(30);
    const eager = await writes(0);
    assert.ok(gathered <= 3, `gathered: ${gathered} writes for 40 events`);
    assert.ok(eager > gathered, `without gathering: ${eager} writes`);
  } finally {
    await t.close();
  }
});
