/**
 * One node's console in the hub: many viewers, one writer, takeover on request, audit events,
 * a cap on viewers, and a slow viewer that never holds up the console or the others.
 */
import assert from "node:assert/strict";
import { ConsoleLog } from "../../../hub/console/console_log.ts";
import { type ConsolePeer, NodeConsole } from "../../../hub/console/node_console.ts";
import type { ConsoleServerFrame } from "../../../shared/console_schemas.ts";
import { realClock } from "../../../shared/clock.ts";
import { FakeConsoleSource } from "../../support/fake_console_source.ts";

interface Recorded {
  type: string;
  node: number;
  message: string;
  data: Record<string, unknown>;
}

/**
 * A viewer connection that records what it is sent. A `stalled` one models a client that
 * stopped reading: like a real socket's, its send buffer grows with everything sent.
 */
class FakePeer implements ConsolePeer {
  bufferedAmount = 0;
  stalled = false;
  bytes = 0;
  text = "";
  frames: ConsoleServerFrame[] = [];
  closed: [number, string] | null = null;
  sendBytes(d: Uint8Array) {
    if (this.stalled) this.bufferedAmount += d.length;
    this.bytes += d.length;
    this.text += new TextDecoder().decode(d);
  }
  sendFrame(f: ConsoleServerFrame) {
    this.frames.push(f);
  }
  close(code: number, reason: string) {
    this.closed = [code, reason];
  }
}

function setup(limits = {}) {
  const source = new FakeConsoleSource();
  const events: Recorded[] = [];
  const nc = new NodeConsole(7, source, new ConsoleLog(null), {
    clock: realClock,
    emit: (type, node, message, data) => events.push({ type, node, message, data }),
  }, limits);
  nc.start();
  return { source, events, nc };
}

async function until(pred: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const who = (client: string, peer = "127.0.0.1:1") => ({ token: "admin:0123abcd", peer, client });

Deno.test("console: one writer; the others read only until one takes over (audited, writer told)", async () => {
  const { source, events, nc } = setup();
  try {
    await until(() => source.connected, "connected");
    const pa = new FakePeer();
    const pb = new FakePeer();
    const a = nc.attach(pa, who("cm", "10.0.0.5:4000"), { write: true });
    const b = nc.attach(pb, who("dashboard", "10.0.0.6:5000"), { write: true });
    assert.equal(a.role, "writer");
    assert.equal(b.role, "viewer", "the second asks to write but reads only");
    const hello = pb.frames[0];
    assert.ok(hello.type === "hello");
    assert.match(
      hello.reason ?? "",
      /read-only: session \d+ \(cm from 10\.0\.0\.5:4000\) is typing/,
    );

    a.input(new TextEncoder().encode("ls\r"));
    assert.throws(() => b.input(new TextEncoder().encode("rm -rf /\r")), /read-only/);
    await until(() => source.typed === "ls\r", "the writer's input reaches the line");

    b.takeover();
    assert.equal(b.role, "writer");
    assert.equal(a.role, "viewer");
    const told = pa.frames.at(-1);
    assert.ok(told?.type === "role" && told.role === "viewer");
    assert.match(told.reason, /took over/);
    assert.throws(() => a.input(new TextEncoder().encode("x")), /read-only/);
    b.input(new TextEncoder().encode("uptime\r"));
    await until(() => source.typed === "ls\ruptime\r", "the new writer types");

    // Output goes to both, whatever their role.
    source.emit("hello both\r\n");
    await until(() => pa.text.includes("hello both") && pb.text.includes("hello both"), "fan-out");

    b.release();
    assert.equal(b.role, "viewer");
    a.detach();
    b.detach();
    assert.deepEqual(events.map((e) => e.type), [
      "console_attach",
      "console_attach",
      "console_takeover",
      "console_detach",
      "console_detach",
    ]);
    const takeover = events[2];
    assert.equal(takeover.data.client, "dashboard");
    assert.equal(takeover.data.peer, "10.0.0.6:5000");
    assert.equal(takeover.data.token, "admin:0123abcd");
    assert.equal(takeover.data.from, events[0].data.session);
    assert.equal(nc.viewerCount, 0);
  } finally {
    await nc.close();
  }
});

Deno.test("console: a cap on viewers per node", async () => {
  const { nc } = setup({ maxViewers: 2 });
  try {
    nc.attach(new FakePeer(), who("a"), { write: false });
    nc.attach(new FakePeer(), who("b"), { write: false });
    assert.throws(
      () => nc.attach(new FakePeer(), who("c"), { write: false }),
      /node 7's console has 2 viewers already/,
    );
  } finally {
    await nc.close();
  }
});

Deno.test("console: a slow viewer is cut off; the console and the other viewers go on", async () => {
  const { source, events, nc } = setup({ maxViewerBufferBytes: 64 * 1024 });
  try {
    await until(() => source.connected, "connected");
    const fast = new FakePeer();
    const slow = new FakePeer();
    const fast2 = new FakePeer();
    nc.attach(fast, who("fast"), { write: false });
    nc.attach(slow, who("slow"), { write: false });
    nc.attach(fast2, who("fast2"), { write: false });
    slow.stalled = true; // it stops reading

    const line = "x".repeat(99) + "\n";
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) source.emit(line);
    const total = 2000 * line.length;
    await until(() => fast.bytes === total && fast2.bytes === total, "the fast viewers get all");
    const ms = performance.now() - t0;
    assert.ok(slow.closed, "the slow viewer was disconnected");
    assert.equal(slow.closed![0], 1013);
    assert.match(slow.closed![1], /viewer too slow/);
    assert.ok(slow.bytes <= 64 * 1024, `the slow viewer was not sent more: ${slow.bytes}`);
    assert.equal(nc.viewerCount, 2);
    assert.equal(nc.history(10_000).lines.length, 2000, "the history has every line");
    const detach = events.find((e) => e.type === "console_detach");
    assert.equal(detach?.data.client, "slow");
    assert.match(String(detach?.data.reason), /too slow/);
    console.log(
      `2000 lines (${total} bytes) to 2 viewers with a stalled third: ${ms.toFixed(0)} ms`,
    );
  } finally {
    await nc.close();
  }
});

Deno.test("console: input while the line is down is refused with a reason, not queued", async () => {
  const { source, nc } = setup({ minBackoffMs: 5_000 });
  try {
    await until(() => source.connected, "connected");
    const p = new FakePeer();
    const v = nc.attach(p, who("cm"), { write: true });
    source.drop("unplugged");
    await until(() => !nc.source.connected, "the link notices");
    assert.throws(() => v.input(new TextEncoder().encode("x")), /not connected \(unplugged\)/);
    const frame = p.frames.at(-1);
    assert.ok(frame?.type === "source" && frame.source.connected === false);
  } finally {
    await nc.close();
  }
});

Deno.test("console: the writer's window size goes to the source; a viewer's only once it takes over", async () => {
  const { source, nc } = setup();
  try {
    await until(() => source.connected, "connected");
    const w = nc.attach(new FakePeer(), who("cm"), { write: true });
    const v = nc.attach(new FakePeer(), who("dashboard"), { write: true });
    w.resize(120, 40);
    v.resize(90, 30);
    assert.deepEqual(source.sizes, [[120, 40]], "the viewer's size is not passed on");
    v.takeover();
    assert.deepEqual(source.sizes, [[120, 40], [90, 30]]);
  } finally {
    await nc.close();
  }
});
