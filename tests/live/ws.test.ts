/** The WebSocket interface: auth, commands with correlated replies, errors, slow consumers. */
import assert from "node:assert/strict";
import { Job, NodeStatus } from "../../shared/schemas.ts";
import { ServerFrame } from "../../shared/ws_schemas.ts";
import { WsSession } from "../../hub/http/routes/ws.ts";
import { VERSION } from "../../hub/version.ts";
import { startTestHub } from "../support/test_hub.ts";
import { serveTestHub, waitFor } from "./live_support.ts";

/** A WebSocket client that validates every frame against the schema. */
class Client {
  readonly frames: ServerFrame[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | null = null;

  constructor(url: string, init?: { headers?: Record<string, string> }) {
    // Deno's WebSocket takes an options object with headers as its second argument.
    this.ws = init
      ? new (WebSocket as unknown as new (u: string, o: unknown) => WebSocket)(url, init)
      : new WebSocket(url);
    this.ws.onmessage = (e) => this.frames.push(ServerFrame.parse(JSON.parse(e.data)));
    this.ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
  }

  opened(): Promise<void> {
    return waitFor(() => this.ws.readyState === WebSocket.OPEN, "socket open");
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The reply (result or error) to request `id`. */
  async reply(id: string | number | null) {
    let found: ServerFrame | undefined;
    await waitFor(() => {
      found = this.frames.find((f) => (f.type === "result" || f.type === "error") && f.id === id);
      return found !== undefined;
    }, `reply to ${id}`);
    return found as Extract<ServerFrame, { type: "result" | "error" }>;
  }

  async request(frame: { id: string | number } & Record<string, unknown>) {
    this.send(frame);
    return await this.reply(frame.id);
  }

  close(): Promise<void> {
    this.ws.close();
    return waitFor(() => this.closed !== null, "socket closed");
  }
}

Deno.test("WS: unauthenticated sockets read but get error frames for commands; socket stays usable", async () => {
  const h = await serveTestHub();
  const c = new Client(`ws://127.0.0.1:${h.port}/api/v1/ws`);
  try {
    await c.opened();
    await waitFor(() => c.frames.length > 0, "hello");
    assert.deepEqual(c.frames[0], { type: "hello", version: VERSION, authenticated: false });

    const denied = await c.request({ id: "p1", type: "power", node: 4, state: "on" });
    assert.equal(denied.type, "error");
    assert.equal(denied.type === "error" && denied.error.code, "unauthorized");
    assert.equal(h.hub.status.node(4).power.desired, "off", "nothing was switched");

    c.send("{not json");
    const bad = await c.reply(null);
    assert.equal(bad.type === "error" && bad.error.code, "invalid_body");

    const invalid = await c.request({ id: 7, type: "power", node: 4, state: "sideways" });
    assert.equal(invalid.type, "error");
    assert.match(invalid.type === "error" ? invalid.error.message : "", /state/);

    const both = await c.request({ id: 8, type: "power", node: 4, nodes: "1-2", state: "on" });
    assert.equal(both.type === "error" && both.error.code, "invalid_body");

    const unknown = await c.request({ id: 9, type: "reboot-everything" });
    assert.equal(unknown.type === "error" && unknown.error.code, "invalid_body");

    // Still usable: a public read works.
    const nodes = await c.request({ id: "n1", type: "nodes" });
    assert.equal(nodes.type, "result");
    const list = NodeStatus.array().parse(nodes.type === "result" ? nodes.data : null);
    assert.deepEqual(list, h.hub.status.nodes());

    const wrong = await c.request({ id: "a0", type: "auth", token: "nope" });
    assert.equal(wrong.type === "error" && wrong.error.code, "unauthorized");
    const ok = await c.request({ id: "a1", type: "auth", token: h.hub.token.value });
    assert.deepEqual(ok, { id: "a1", type: "result", ok: true, data: { authenticated: true } });

    // Now the same command goes through the same service as REST.
    const power = await c.request({ id: "p2", type: "power", node: 4, state: "on" });
    assert.equal(power.type, "result");
    const job = Job.parse(power.type === "result" ? power.data : null);
    assert.equal(job.kind, "power");
    assert.equal(job.summary, "on 4");
    await h.hub.jobs.wait(job.id);
    const rest = await (await fetch(`${h.base}/api/v1/nodes/4`)).json();
    assert.equal(rest.power.actual, "on");

    const jobReply = await c.request({ id: "j1", type: "job", job: job.id });
    assert.equal(jobReply.type === "result" && Job.parse(jobReply.data).state, "succeeded");
    const missing = await c.request({ id: "j2", type: "job", job: "no-such-job" });
    assert.equal(missing.type === "error" && missing.error.code, "not_found");
    assert.equal(c.closed, null, "errors never closed the socket");
  } finally {
    await c.close();
    await h.stop();
  }
});

Deno.test("WS: token by header or ?token=; a wrong token is refused before the upgrade", async () => {
  const h = await serveTestHub();
  const byHeader = new Client(`ws://127.0.0.1:${h.port}/api/v1/ws`, {
    headers: { authorization: `Bearer ${h.hub.token.value}` },
  });
  const byQuery = new Client(
    `ws://127.0.0.1:${h.port}/api/v1/ws?token=${encodeURIComponent(h.hub.token.value)}`,
  );
  try {
    await byHeader.opened();
    await byQuery.opened();
    await waitFor(() => byHeader.frames.length > 0 && byQuery.frames.length > 0, "hellos");
    for (const c of [byHeader, byQuery]) {
      assert.deepEqual(c.frames[0], { type: "hello", version: VERSION, authenticated: true });
    }
    const led = await byQuery.request({ id: 1, type: "led", node: 12, mode: "identify" });
    assert.equal(led.type, "result");
    assert.equal(led.type === "result" && NodeStatus.parse(led.data).ledRequested, "identify");
    assert.equal(h.hub.status.node(12).ledRequested, "identify");
    const bulk = await byHeader.request({ id: 2, type: "power", nodes: "13-15", state: "on" });
    assert.equal(bulk.type === "result" && Job.parse(bulk.data).summary, "on 13-15");
    const outOfRange = await byHeader.request({
      id: 3,
      type: "power",
      nodes: "59-61",
      state: "on",
    });
    assert.equal(outOfRange.type === "error" && outOfRange.error.code, "invalid_range");

    // Refused upgrades answer with the usual JSON error.
    const refused = await h.hub.app.request("/api/v1/ws?token=wrong", {
      headers: { upgrade: "websocket" },
    });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error.code, "unauthorized");
    const plain = await fetch(`${h.base}/api/v1/ws`);
    assert.equal(plain.status, 400);
    assert.equal((await plain.json()).error.code, "bad_request");
    const bad = new Client(`ws://127.0.0.1:${h.port}/api/v1/ws?token=wrong`);
    await waitFor(() => bad.closed !== null, "refused socket closes");
    assert.equal(bad.frames.length, 0);
  } finally {
    await byHeader.close();
    await byQuery.close();
    await h.stop();
  }
});

Deno.test("WS: subscribe replays after an id then streams live events, in order, once", async () => {
  const h = await serveTestHub();
  const c = new Client(`ws://127.0.0.1:${h.port}/api/v1/ws`);
  try {
    await c.opened();
    const ev = h.hub.events;
    const before = ev.latest(1)[0].id;
    for (let i = 0; i < 5; i++) ev.emit("fault", 1, `old ${i}`);
    const sub = await c.request({ id: "s", type: "subscribe", after: before + 2 });
    assert.deepEqual(sub, {
      id: "s",
      type: "result",
      ok: true,
      data: { subscribed: true, after: before + 2 },
    });
    for (let i = 0; i < 5; i++) ev.emit("fault", 2, `new ${i}`);
    const events = () => c.frames.flatMap((f) => (f.type === "event" ? [f.event] : []));
    await waitFor(() => events().length >= 8, "3 replayed + 5 live events");
    assert.deepEqual(events(), ev.after(before + 2, 100));
    const unsub = await c.request({ id: "u", type: "unsubscribe" });
    assert.equal(unsub.type, "result");
    ev.emit("fault", 3, "after unsubscribe");
    await c.request({ id: "ping", type: "nodes" });
    assert.equal(events().length, 8, "no events after unsubscribe");
  } finally {
    await c.close();
    await h.stop();
  }
});

Deno.test("WS: a slow consumer is bounded: events pause, the backlog is dropped with a notice", async () => {
  const t = await startTestHub();
  const sent: string[] = [];
  const peer = { bufferedAmount: 0, send: (s: string) => sent.push(s), close: () => {} };
  const session = new WsSession(
    peer,
    { ...wsDeps(t), adminToken: "x", version: VERSION },
    false,
    { highWaterBytes: 1000, maxLag: 20, pollMs: 5 },
  );
  try {
    const frames = () => sent.map((s) => ServerFrame.parse(JSON.parse(s)));
    const events = () => frames().flatMap((f) => (f.type === "event" ? [f.event.id] : []));
    await session.message(JSON.stringify({ id: 1, type: "subscribe" }));
    const ev = t.hub.events;
    ev.emit("fault", 1, "fast");
    await waitFor(() => events().length === 1, "first event while the socket keeps up");

    peer.bufferedAmount = 50_000; // the client stops reading
    const sentBefore = sent.length;
    const firstStalled = ev.latest(1)[0].id + 1;
    for (let i = 0; i < 100; i++) ev.emit("fault", 2, `stalled ${i}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent.length, sentBefore, "nothing is sent while the send buffer is full");

    peer.bufferedAmount = 0; // it reads again
    const last = ev.emit("fault", 3, "after the stall");
    await waitFor(() => events().at(-1) === last.id, "delivery resumes");
    const dropped = frames().find((f) => f.type === "dropped");
    assert.ok(dropped && dropped.type === "dropped", "a dropped notice was sent");
    assert.equal(dropped.count, 100);
    assert.equal(dropped.lastId, firstStalled + 99);
    const afterStall = events().filter((id) => id >= firstStalled);
    assert.deepEqual(afterStall, [last.id], "the dropped backlog is not sent afterwards");
    const droppedAt = frames().findIndex((f) => f.type === "dropped");
    const lastAt = frames().findIndex((f) => f.type === "event" && f.event.id === last.id);
    assert.ok(droppedAt < lastAt, "the notice comes before the next event");
  } finally {
    session.close();
    await t.close();
  }
});

/** The services a WebSocket session uses, from a test hub. */
function wsDeps(t: Awaited<ReturnType<typeof startTestHub>>) {
  const { status, powerControl: power, nodeSettings: settings, events, jobs } = t.hub;
  return { status, power, settings, events, jobs };
}

/** A session on a fake peer that records what is sent and how it is closed. */
async function withSession(
  authenticated: boolean,
  fn: (s: {
    t: Awaited<ReturnType<typeof startTestHub>>;
    session: WsSession;
    peer: { bufferedAmount: number };
    sent: string[];
    closed: [number, string][];
  }) => Promise<void>,
  opts: ConstructorParameters<typeof WsSession>[3] = {},
) {
  const t = await startTestHub();
  const sent: string[] = [];
  const closed: [number, string][] = [];
  const peer = {
    bufferedAmount: 0,
    send: (s: string) => sent.push(s),
    close: (code: number, reason: string) => closed.push([code, reason]),
  };
  const session = new WsSession(
    peer,
    { ...wsDeps(t), adminToken: "x", version: VERSION },
    authenticated,
    opts,
  );
  try {
    await fn({ t, session, peer, sent, closed });
  } finally {
    session.close();
    await t.close();
  }
}

Deno.test("WS: a client that sends requests but reads no replies is closed, not buffered", () =>
  withSession(false, async ({ session, peer, sent, closed }) => {
    await session.message(JSON.stringify({ id: 1, type: "nodes" }));
    assert.equal(sent.length, 1, "answered while the client reads");
    peer.bufferedAmount = 5000; // replies pile up unread
    await session.message(JSON.stringify({ id: 2, type: "nodes" }));
    await session.message(JSON.stringify({ id: 3, type: "nodes" }));
    assert.equal(sent.length, 1, "no more replies are queued");
    assert.equal(closed.length, 1);
    assert.equal(closed[0][0], 1013);
  }, { highWaterBytes: 1000, maxLag: 20, pollMs: 5 }));

Deno.test("WS/SSE: resuming after an id from the future still delivers new events", () =>
  withSession(false, async ({ t, session, sent }) => {
    const newest = t.hub.events.latest(1).at(-1)?.id ?? 0;
    await session.message(JSON.stringify({ id: 1, type: "subscribe", after: newest + 1000 }));
    const e = t.hub.events.emit("fault", 4, "after a data-dir reset");
    await waitFor(
      () => sent.some((s) => s.includes(`"id":${e.id},`) && s.includes('"type":"event"')),
      "the new event arrives",
    );
  }));

Deno.test("WS: a node id outside the module gets the same invalid_range answer as REST", () =>
  withSession(true, async ({ session, sent }) => {
    await session.message(JSON.stringify({ id: 7, type: "led", node: 61, mode: "identify" }));
    const reply = ServerFrame.parse(JSON.parse(sent.at(-1)!));
    assert.ok(reply.type === "error");
    assert.equal(reply.error.code, "invalid_range");
    assert.match(reply.error.message, /node 61 does not exist/);
  }));

Deno.test("WS: a request without an id is told what an id is", () =>
  withSession(false, async ({ session, sent }) => {
    for (const frame of [{ type: "nodes" }, { id: { a: 1 }, type: "nodes" }]) {
      await session.message(JSON.stringify(frame));
      const reply = ServerFrame.parse(JSON.parse(sent.at(-1)!));
      assert.ok(reply.type === "error", JSON.stringify(reply));
      assert.equal(reply.error.code, "invalid_body");
      assert.match(
        reply.error.message,
        /id: every request needs an id, a string or a whole number/,
      );
    }
  }));

Deno.test("WS: an empty node set gets the range parser's invalid_range, as over REST", () =>
  withSession(true, async ({ session, sent }) => {
    await session.message(JSON.stringify({ id: 10, type: "power", nodes: "", state: "on" }));
    const reply = ServerFrame.parse(JSON.parse(sent.at(-1)!));
    assert.ok(reply.type === "error", JSON.stringify(reply));
    assert.equal(reply.error.code, "invalid_range");
    assert.match(reply.error.message, /^empty node set/);
  }));

Deno.test("WS: a power frame's node number is checked as a number (0, 61 refused; 60 taken)", () =>
  withSession(true, async ({ session, sent }) => {
    for (const node of [0, 61]) {
      await session.message(JSON.stringify({ id: 8, type: "power", node, state: "on" }));
      const reply = ServerFrame.parse(JSON.parse(sent.at(-1)!));
      assert.ok(reply.type === "error", JSON.stringify(reply));
      assert.equal(reply.error.code, "invalid_range");
      assert.match(reply.error.message, new RegExp(`node ${node} does not exist`));
    }
    await session.message(JSON.stringify({ id: 9, type: "led", node: 60, mode: "identify" }));
    const ok = ServerFrame.parse(JSON.parse(sent.at(-1)!));
    assert.ok(ok.type === "result" && ok.ok, JSON.stringify(ok));
  }));
