/**
 * Held heartbeat replies (`holdMs`, a long poll): when the hub answers a held heartbeat, on
 * a fake clock (hub/cluster/held_replies.ts), and through the app and a served hub: an LED POST
 * releases it at once, `holdMs` ends it, a client that goes away or a newer heartbeat of the
 * node ends it, a stopping hub answers it at once, and `holdMs` out of range is a 400.
 */
import assert from "node:assert/strict";
import { HeldReplies, type Release, tellsAgent } from "../../hub/cluster/held_replies.ts";
import { serveLocalHub } from "../../hub/hub.ts";
import {
  ErrorBody,
  type HeartbeatReply,
  HeartbeatReply as ReplySchema,
} from "../../shared/schemas.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { sampleHeartbeat } from "../support/samples.ts";
import { HubProcess } from "../support/hub_process.ts";
import { type TestHub, testSettings, withTestHub } from "../support/test_hub.ts";

const HB = "/api/v1/agent/heartbeat";

/** A registry on a fake clock, with a reply the test changes and announces. */
function registry() {
  const clock = new FakeClock();
  const listeners: ((node: number) => void)[] = [];
  const held = new HeldReplies({
    clock,
    subscribe: (l) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
  });
  const reply: HeartbeatReply = { node: 7, led: null, intervalMs: 1000 };
  const changed = (node: number) => listeners.forEach((l) => l(node));
  return { clock, held, reply, changed, listeners };
}

/** Settles the microtasks of an answer already released. */
async function released<T>(p: Promise<T>): Promise<T | "pending"> {
  return await Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), 20))]);
}

Deno.test("tellsAgent: a reply asks of the agent something else than it shows", () => {
  const r: HeartbeatReply = { node: 1, led: null, intervalMs: 1000 };
  assert.equal(tellsAgent("heartbeat", r), false);
  assert.equal(tellsAgent("fault", r), true); // a recovering agent hears at once
  assert.equal(tellsAgent("heartbeat", { ...r, led: "identify" }), true);
  assert.equal(tellsAgent("identify", { ...r, led: "identify" }), false);
});

Deno.test("held reply: goes after holdMs when nothing changes", async () => {
  const { clock, held, reply } = registry();
  const p = held.hold(7, "heartbeat", 700, () => reply);
  await clock.advance(699);
  assert.equal(await released(p), "pending");
  assert.equal(held.size, 1);
  await clock.advance(1);
  const got = await p;
  assert.equal(got.release, "timeout");
  assert.deepEqual(got.reply, reply);
  assert.equal(held.size, 0);
});

Deno.test("held reply: goes at once when the node's reply changes, with the new reply", async () => {
  const { clock, held, reply, changed } = registry();
  const p = held.hold(7, "heartbeat", 700, () => reply);
  await clock.advance(100);
  changed(7); // an update that does not change the reply (a heartbeat of the node)
  changed(8); // another node's
  assert.equal(await released(p), "pending");
  reply.led = "identify";
  changed(7);
  const got = await released(p);
  assert.notEqual(got, "pending");
  assert.deepEqual(got, {
    reply: { node: 7, led: "identify", intervalMs: 1000 },
    release: "changed",
  });
});

Deno.test("held reply: a reply that already tells the agent something new is not held", async () => {
  const { held, reply } = registry();
  reply.led = "identify";
  assert.equal((await held.hold(7, "heartbeat", 700, () => reply)).release, "at_once");
  assert.equal(
    (await held.hold(7, "heartbeat", 0, () => ({ ...reply, led: null }))).release,
    "at_once",
  );
  assert.equal(held.size, 0);
});

Deno.test("held reply: a newer heartbeat of the node releases the older at once", async () => {
  const { clock, held, reply } = registry();
  const first = held.hold(7, "heartbeat", 700, () => reply);
  const other = held.hold(8, "heartbeat", 700, () => ({ ...reply, node: 8 }));
  await clock.advance(10);
  const second = held.hold(7, "heartbeat", 700, () => reply);
  assert.equal(((await released(first)) as { release: Release }).release, "superseded");
  assert.equal(await released(second), "pending");
  assert.equal(await released(other), "pending");
  assert.equal(held.size, 2);
  await clock.advance(700);
  assert.equal((await second).release, "timeout");
  assert.equal((await other).release, "timeout");
});

Deno.test("held reply: the client going away ends it", async () => {
  const { clock, held, reply } = registry();
  const ac = new AbortController();
  const p = held.hold(7, "heartbeat", 700, () => reply, { signal: ac.signal });
  await clock.advance(10);
  ac.abort();
  assert.equal(((await released(p)) as { release: Release }).release, "gone");
  assert.equal(held.size, 0);
});

Deno.test("held reply: close answers every held reply at once, and no more are held", async () => {
  const { held, reply, listeners } = registry();
  const a = held.hold(7, "heartbeat", 1000, () => reply);
  const b = held.hold(9, "heartbeat", 1000, () => ({ ...reply, node: 9 }));
  held.close();
  assert.equal(((await released(a)) as { release: Release }).release, "shutdown");
  assert.equal(((await released(b)) as { release: Release }).release, "shutdown");
  assert.equal(listeners.length, 0);
  assert.equal((await held.hold(7, "heartbeat", 1000, () => reply)).release, "at_once");
});

// Through the app (real clock): the route ingests at once and holds only the answer.

function heartbeat(t: TestHub, body: unknown, signal?: AbortSignal): Promise<Response> {
  return Promise.resolve(t.hub.app.request(HB, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer test-agent-key" },
    body: JSON.stringify(body),
    signal,
  }));
}

async function timed(p: Promise<Response>): Promise<{ ms: number; reply: HeartbeatReply }> {
  const start = performance.now();
  const res = await p;
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { ms: performance.now() - start, reply: ReplySchema.parse(JSON.parse(text)) };
}

Deno.test("heartbeat route: held until an LED POST, which releases it at once; ingested before", () =>
  withTestHub({}, async (t) => {
    const started = performance.now();
    const pending = timed(heartbeat(t, sampleHeartbeat(5, { holdMs: 1000 })));
    await new Promise((r) => setTimeout(r, 100));
    // ingested already: the node is seen while its answer is held
    const node = await (await t.call("GET", "/api/v1/nodes/5")).json();
    assert.equal(node.agent?.seq, 1);
    assert.equal(t.hub.heldReplies.size, 1);
    const post = await t.call("POST", "/api/v1/nodes/5/led", { mode: "identify" });
    assert.equal(post.status, 200);
    const { reply } = await pending;
    const total = performance.now() - started;
    assert.equal(reply.led, "identify");
    assert.ok(total < 700, `released ${total.toFixed(0)} ms after the heartbeat (POST at 100 ms)`);
    // the agent now shows identify: held again, until holdMs
    const again = await timed(heartbeat(t, sampleHeartbeat(5, { holdMs: 150, led: "identify" })));
    assert.equal(again.reply.led, "identify");
    assert.ok(again.ms >= 140, `held ${again.ms.toFixed(0)} ms`);
    // an agent that does not show what the hub wants is answered at once
    const told = await timed(heartbeat(t, sampleHeartbeat(5, { holdMs: 1000 })));
    assert.equal(told.reply.led, "identify");
    assert.ok(told.ms < 500, `answered after ${told.ms.toFixed(0)} ms`);
  }));

Deno.test("heartbeat route: without holdMs (or 0) it answers at once; with holdMs, after it (not counted in request durations)", () =>
  withTestHub({}, async (t) => {
    for (const body of [sampleHeartbeat(6), sampleHeartbeat(6, { holdMs: 0 })]) {
      const { ms } = await timed(heartbeat(t, body));
      assert.ok(ms < 500, `answered after ${ms.toFixed(0)} ms`);
    }
    const { ms, reply } = await timed(heartbeat(t, sampleHeartbeat(6, { holdMs: 500 })));
    assert.equal(reply.led, null);
    assert.ok(ms >= 490, `held only ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1500, `held ${ms.toFixed(0)} ms`);
    // the hold is the agent's chosen wait, not the hub's work: left out of request durations
    const metrics = await (await t.call("GET", "/metrics")).text();
    const sum = metrics.split("\n").find((l) =>
      l.startsWith("cluster_http_request_duration_seconds_sum") &&
      l.includes('route="/api/v1/agent/heartbeat"')
    );
    assert.ok(sum, metrics);
    const seconds = Number(sum.split(" ").at(-1));
    assert.ok(seconds < 0.3, `3 heartbeats took ${seconds} s of the hub's time: ${sum}`);
  }));

Deno.test("heartbeat route: a second heartbeat of the node releases the first; a client gone ends its hold", () =>
  withTestHub({}, async (t) => {
    const first = timed(heartbeat(t, sampleHeartbeat(4, { holdMs: 1000 })));
    await new Promise((r) => setTimeout(r, 50));
    const second = timed(heartbeat(t, sampleHeartbeat(4, { holdMs: 200, seq: 2 })));
    const a = await first;
    assert.ok(a.ms < 500, `the first was held ${a.ms.toFixed(0)} ms`);
    await second;
    const ac = new AbortController();
    const gone = Promise.resolve(
      heartbeat(t, sampleHeartbeat(4, { holdMs: 1000, seq: 3 }), ac.signal),
    )
      .then(async (r) => await r.text(), () => "aborted");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.hub.heldReplies.size, 1);
    ac.abort();
    await gone;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.hub.heldReplies.size, 0);
  }));

Deno.test("heartbeat route: holdMs out of range or not an integer is a 400 that names it", () =>
  withTestHub({}, async (t) => {
    for (const holdMs of [-1, 1001, 2.5, "500"]) {
      const res = await heartbeat(t, { ...sampleHeartbeat(3), holdMs });
      const text = await res.text();
      assert.equal(res.status, 400, text);
      const body = ErrorBody.parse(JSON.parse(text));
      assert.match(body.error.message, /holdMs/, body.error.message);
    }
  }));

Deno.test("a served hub stopping answers its held heartbeat replies at once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-hub-held-" });
  try {
    const local = await serveLocalHub(testSettings(dataDir));
    const res = fetch(`${local.url}${HB}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer test-agent-key" },
      body: JSON.stringify(sampleHeartbeat(2, { holdMs: 1000 })),
    });
    for (let i = 0; i < 100 && local.hub.heldReplies.size === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(local.hub.heldReplies.size, 1);
    const start = performance.now();
    await local.close();
    const closeMs = performance.now() - start;
    const answer = await res;
    assert.equal(answer.status, 200);
    assert.equal(ReplySchema.parse(await answer.json()).node, 2);
    assert.ok(closeMs < 600, `closing took ${closeMs.toFixed(0)} ms with a reply held for 1000`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the hub process, stopped by SIGTERM, answers a held heartbeat at once (not cut off) and exits 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-hub-held-proc-" });
  const hub = await HubProcess.start(dataDir);
  let code = -1;
  try {
    const on = await hub.fetch("/api/v1/nodes/3/power", {
      method: "POST",
      body: JSON.stringify({ state: "on" }),
    });
    assert.equal(on.status, 200, await on.text());
    const sent = performance.now();
    const held = hub.fetch(HB, {
      method: "POST",
      body: JSON.stringify(sampleHeartbeat(3, { holdMs: 1000 })),
    }).then(async (r) => ({ status: r.status, text: await r.text(), at: performance.now() }));
    await new Promise((r) => setTimeout(r, 150)); // held by now
    const stopping = performance.now();
    const stopped = hub.stop();
    const answer = await held;
    code = await stopped;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(ReplySchema.parse(JSON.parse(answer.text)).node, 3);
    const after = answer.at - stopping;
    assert.ok(
      answer.at - sent < 900 && after < 600,
      `answered ${after.toFixed(0)} ms after SIGTERM, ${
        (answer.at - sent).toFixed(0)
      } ms after it was sent`,
    );
  } finally {
    if (code === -1) await hub.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.equal(code, 0);
});
