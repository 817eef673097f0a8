/** The event stream: SSE framing, resume without gap or duplicate, keep-alive, JSON form. */
import assert from "node:assert/strict";
import { ClusterEvent } from "../../shared/schemas.ts";
import { EventFeed } from "../../hub/events/event_feed.ts";
import { sseResponse, SseStreams } from "../../hub/http/routes/events.ts";
import { startTestHub } from "../support/test_hub.ts";
import { serveTestHub, SseReader } from "./live_support.ts";

/** Asserts ids are strictly consecutive from `first`, i.e. no gap and no duplicate. */
function assertConsecutive(ids: number[], first: number, last: number) {
  assert.equal(ids.length, last - first + 1, `expected ids ${first}..${last}, got ${ids.length}`);
  ids.forEach((id, i) => assert.equal(id, first + i, `id at position ${i}`));
}

Deno.test("SSE: id/event/data framing, replay after ?after, then live events", async () => {
  const h = await serveTestHub();
  try {
    const ev = h.hub.events;
    for (let i = 0; i < 5; i++) ev.emit("fault", i + 1, `before ${i}`, { i });
    const base = ev.latest(1)[0].id - 3; // replay the last 3 stored events
    const res = await fetch(`${h.base}/api/v1/events?after=${base}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const r = new SseReader(res);
    await r.until((m) => m.filter((x) => x.data).length >= 3);
    const live = ev.emit("led_changed", 7, "live one", { mode: "identify" });
    const msgs = await r.until((m) => m.filter((x) => x.data).length >= 4);
    const data = msgs.filter((m) => m.data);
    for (const m of data) {
      const e = ClusterEvent.parse(JSON.parse(m.data!));
      assert.equal(m.id, String(e.id), "id: line matches the event id");
      assert.equal(m.event, e.type, "event: line is the event type");
    }
    assertConsecutive(r.events().map((e) => e.id), base + 1, live.id);
    assert.deepEqual(r.events().at(-1), live);
    assert.ok(msgs[0].retry, "the stream starts with a retry hint");
    await r.cancel();
  } finally {
    await h.stop();
  }
});

Deno.test("SSE: reconnect with Last-Event-ID resumes with no gap and no duplicate under load", async () => {
  const h = await serveTestHub();
  try {
    const ev = h.hub.events;
    const first = ev.latest(1)[0].id;
    for (let i = 0; i < 50; i++) ev.emit("fault", (i % 60) + 1, `a${i}`);
    // First connection reads some events, then drops.
    const r1 = new SseReader(await fetch(`${h.base}/api/v1/events?after=${first}`));
    await r1.until((m) => m.filter((x) => x.data).length >= 20);
    await r1.cancel();
    const seen1 = r1.events().map((e) => e.id);
    const lastId = seen1.at(-1)!;
    // Missed while disconnected: a backlog larger than one replay page (200).
    for (let i = 0; i < 700; i++) ev.emit("job_progress", null, `b${i}`, { i });
    // Reconnect as EventSource does; Last-Event-ID wins over a stale ?after.
    const res = await fetch(`${h.base}/api/v1/events?after=1`, {
      headers: { "last-event-id": String(lastId) },
    });
    const r2 = new SseReader(res);
    // Keep emitting while the replay is in progress.
    let emitted = 0;
    const emitter = setInterval(() => {
      for (let i = 0; i < 25 && emitted < 300; i++, emitted++) ev.emit("fault", 1, `c${emitted}`);
    }, 5);
    try {
      await r2.until(() => emitted >= 300 && r2.events().at(-1)?.id === ev.latest(1)[0].id, 20_000);
    } finally {
      clearInterval(emitter);
    }
    const seen2 = r2.events().map((e) => e.id);
    assertConsecutive(seen2, lastId + 1, ev.latest(1)[0].id);
    // Together the two connections saw every event exactly once.
    assertConsecutive([...seen1, ...seen2], first + 1, ev.latest(1)[0].id);
    // And what was replayed equals what the store holds.
    assert.deepEqual(r2.events().slice(0, 100), ev.after(lastId, 100));
    await r2.cancel();
  } finally {
    await h.stop();
  }
});

Deno.test("SSE: keep-alive comments while idle; hub close ends the stream", async () => {
  const t = await startTestHub();
  try {
    const streams = new SseStreams();
    const res = sseResponse(t.hub.events, null, streams, { keepAliveMs: 50 });
    const r = new SseReader(res);
    const msgs = await r.until((m) =>
      m.filter((x) => x.comment?.startsWith("keep-alive")).length >= 2
    );
    assert.equal(msgs.filter((m) => m.data).length, 0, "no events were emitted, none sent");
    assert.equal(streams.size, 1);
    streams.closeAll();
    assert.equal(streams.size, 0);
    await assert.rejects(r.until(() => false, 5000), /SSE stream ended/);
  } finally {
    await t.close();
  }
});

Deno.test("EventFeed: a slow client costs at most maxPending events and still misses none", async () => {
  const t = await startTestHub();
  try {
    const ev = t.hub.events;
    const start = ev.latest(1)[0].id;
    const feed = new EventFeed(ev, null, { maxPending: 10, pageSize: 7 });
    assert.deepEqual(feed.take(), [], "nothing new yet (switches to live)");
    let maxPending = 0;
    for (let i = 0; i < 95; i++) {
      ev.emit("fault", 1, `e${i}`);
      maxPending = Math.max(maxPending, feed.pendingCount);
    }
    assert.ok(maxPending <= 10, `held ${maxPending} events in memory`);
    assert.ok(feed.overflows >= 1, "the cache overflowed and the feed fell back to the store");
    const got: number[] = [];
    for (let batch = feed.take(); batch.length > 0; batch = feed.take()) {
      assert.ok(batch.length <= 10, "pages are bounded too");
      got.push(...batch.map((e) => e.id));
    }
    assertConsecutive(got, start + 1, start + 95);
    // Back in live mode: the next event comes from the cache.
    const next = ev.emit("fault", 2, "after");
    assert.equal(await feed.waitForMore(1000), true);
    assert.deepEqual(feed.take(), [next]);
    feed.close();
    ev.emit("fault", 3, "closed");
    assert.equal(feed.pendingCount, 0, "a closed feed holds nothing");
  } finally {
    await t.close();
  }
});

Deno.test("EventFeed: an event emitted by a listener of another still goes out in id order", async () => {
  // The boot monitor answers power_changed with boot_stage from inside emit(): the feed's
  // listener then hears the newer event first. Out of order, a client that resumes from the
  // last id it saw gets a duplicate, and one that drops ids it has passed loses an event (the
  // dashboard's event log missed every power_changed).
  const t = await startTestHub();
  try {
    const ev = t.hub.events;
    const feed = new EventFeed(ev, null);
    assert.deepEqual(feed.take(), [], "nothing new yet (switches to live)");
    await t.hub.jobs.wait(t.hub.powerControl.power([4], "on").id);
    const got = feed.take().map((e) => [e.id, e.type]);
    const ids = got.map(([id]) => id as number);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), JSON.stringify(got));
    assert.ok(got.some(([, type]) => type === "power_changed"), JSON.stringify(got));
    assert.equal(feed.cursor, Math.max(...ids), "the cursor is the newest id handed out");
    feed.close();
  } finally {
    await t.close();
  }
});

Deno.test("events?format=json: pages after an id, limits, newest without after, errors", async () => {
  const t = await startTestHub();
  try {
    const ev = t.hub.events;
    const start = ev.latest(1)[0].id;
    for (let i = 0; i < 30; i++) ev.emit("fault", 1, `j${i}`, { i });
    const page = await t.call("GET", `/api/v1/events?format=json&after=${start + 5}&limit=10`);
    assert.equal(page.status, 200);
    const body = (await page.json()) as unknown[];
    const events = body.map((e) => ClusterEvent.parse(e));
    assertConsecutive(events.map((e) => e.id), start + 6, start + 15);
    assert.deepEqual(events, ev.after(start + 5, 10));

    const newest = await (await t.call("GET", "/api/v1/events?format=json&limit=4")).json();
    assert.deepEqual(newest, ev.latest(4));

    for (const q of ["format=json&limit=0", "format=json&limit=abc", "format=xml", "after=-1"]) {
      const res = await t.call("GET", `/api/v1/events?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal((await res.json()).error.code, "bad_request", q);
    }
  } finally {
    await t.close();
  }
});

Deno.test("HEAD on the event stream answers headers and opens no feed", async () => {
  const t = await startTestHub();
  try {
    const before = t.hub.events.listenerCount;
    for (let i = 0; i < 20; i++) {
      const res = await t.hub.app.request("/api/v1/events", { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      await res.body?.cancel();
    }
    assert.equal(t.hub.events.listenerCount, before, "no subscriber left behind");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
