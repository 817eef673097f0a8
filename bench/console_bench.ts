/**
 * Console benchmark (not a test). A hub built in-process whose node 1 console is a raw TCP
 * source (as for ser2net or QEMU) on 127.0.0.1; a local "node" pushes console output through it
 * as fast as the hub takes it. Measures, each over `--mib` MiB of output:
 *
 *  1. capture: the hub's throughput into the persisted history with no viewer;
 *  2. fan-out: the output paced at `--rate-mib` MiB/s to `--viewers` WebSocket viewers that read
 *     all they get (in this process, so they share its CPU with the hub): how many keep up;
 *  3. a stalled viewer: the same plus one that completed the WebSocket handshake and then reads
 *     nothing: whether the others still get every byte, and when the stalled one is cut off.
 *
 *   deno task bench:console [--mib 32] [--viewers 7] [--rate-mib 2]
 *
 * All traffic stays on 127.0.0.1; every wait is bounded; the temp data directory is removed.
 */
import { parseArgs } from "node:util";
import { serveLocalHub } from "../hub/hub.ts";
import { SocketConsoleSource } from "../hub/console/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "32" },
    viewers: { type: "string", default: "7" },
    "rate-mib": { type: "string", default: "2" },
  },
});
/** Output rate of the fan-out phases, MiB/s (a 115200-baud line carries at most 11.25 KiB/s). */
const RATE = Number(flags["rate-mib"]) * 1024 * 1024;
const MIB = Number(flags.mib);
const VIEWERS = Number(flags.viewers);
const TOTAL = MIB * 1024 * 1024;
const TOKEN = "bench-token";

/** One 100-byte console line, as a busy node prints them. */
const LINE = new TextEncoder().encode(`[  123.456789] ${"x".repeat(83)}\r\n`);
const CHUNK = new Uint8Array(LINE.length * 160);
for (let i = 0; i < 160; i++) CHUNK.set(LINE, i * LINE.length);

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (listener.addr as Deno.NetAddr).port;
let nodeConn: Deno.Conn | null = null;
const accepted = (async () => {
  for await (const c of listener) nodeConn = c;
})();

const dataDir = await Deno.makeTempDir({ prefix: "cm-console-bench-" });
const local = await serveLocalHub({
  host: "127.0.0.1",
  port: 0,
  dataDir,
  nodeCount: 60,
  token: TOKEN,
  agentKey: "bench-agent-key",
  lostAfterMs: 3000,
  heartbeatIntervalMs: 1000,
  virtualAgents: false,
  simBootMs: 0,
}, {
  consoles: new Map([[1, new SocketConsoleSource({ host: "127.0.0.1", port })]]),
  consoleLimits: { maxViewers: VIEWERS + 2 },
});
const hub = local.hub;
const hubPort = new URL(local.url).port;
const base = `ws://127.0.0.1:${hubPort}/api/v1/nodes/1/console/ws`;

async function waitFor(pred: () => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A viewer that reads everything and counts the live bytes. */
function viewer(): Promise<{ received: () => number; closed: () => boolean; close: () => void }> {
  const ws = new WebSocket(`${base}?mode=read&lines=0&client=bench`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  ws.binaryType = "arraybuffer";
  let bytes = 0;
  let closed = false;
  ws.onclose = () => (closed = true);
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") bytes += (e.data as ArrayBuffer).byteLength;
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () =>
      resolve({ received: () => bytes, closed: () => closed, close: () => ws.close() });
    ws.onerror = () => reject(new Error("viewer failed"));
  });
}

/** A viewer that upgrades and then never reads: its socket buffers fill on the hub's side. */
async function stalledViewer(): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(hubPort) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /api/v1/nodes/1/console/ws?mode=read&lines=0&client=stalled HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Authorization: Bearer ${TOKEN}\r\n\r\n`,
  ));
  return conn;
}

let round = 0;

/** Pushes TOTAL bytes of output and an end line; resolves when the history has the end line. */
async function push(paced = false): Promise<number> {
  const conn = nodeConn!;
  const end = `end of round ${++round}`;
  const t0 = performance.now();
  let sent = 0;
  const write = async (data: Uint8Array) => {
    let off = 0;
    while (off < data.length) off += await conn.write(data.subarray(off));
  };
  while (sent < TOTAL) {
    await write(CHUNK);
    sent += CHUNK.length;
    const ahead = sent / RATE * 1000 - (performance.now() - t0);
    if (paced && ahead > 1) await new Promise((r) => setTimeout(r, ahead));
  }
  await write(new TextEncoder().encode(`${end}\r\n`));
  await waitFor(() => hub.consoles.history(1, 2).lines.some((l) => l.text === end), "history");
  return performance.now() - t0;
}

const rate = (bytes: number, ms: number) =>
  `${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s`;
const results: Record<string, unknown> = { mib: MIB, viewers: VIEWERS, rateMiBs: RATE / 2 ** 20 };
try {
  await waitFor(() => nodeConn !== null && hub.consoles.console(1).source.connected, "connect");

  // 1. capture only
  const msCapture = await push();
  console.log(
    `capture, no viewer: ${MIB} MiB in ${msCapture.toFixed(0)} ms = ${rate(TOTAL, msCapture)}`,
  );
  results.captureMiBs = TOTAL / 1024 / 1024 / (msCapture / 1000);

  // 2. fan-out to fast viewers
  const vs = await Promise.all(Array.from({ length: VIEWERS }, viewer));
  await waitFor(() => hub.consoles.console(1).viewerCount === VIEWERS, "viewers");
  let t0 = performance.now();
  await push(true);
  // A viewer that falls more than 1 MiB behind is cut off by design, fast or not.
  await waitFor(
    () => vs.every((v) => v.received() > TOTAL || v.closed()),
    "viewers receive all (or are cut off)",
    120_000,
  );
  let ms = performance.now() - t0;
  let kept = vs.filter((v) => !v.closed());
  console.log(
    `${VIEWERS} reading viewers: ${kept.length} kept up and got ${MIB} MiB each in ${
      ms.toFixed(0)
    } ms = ${rate(TOTAL, ms)} each; ${VIEWERS - kept.length} fell 1 MiB behind and were cut off`,
  );
  results.fanoutMiBsEach = TOTAL / 1024 / 1024 / (ms / 1000);
  results.fanoutCutOff = VIEWERS - kept.length;

  // 3. plus one stalled viewer
  const stalled = await stalledViewer();
  await waitFor(
    () => hub.consoles.console(1).viewerCount === kept.length + 1,
    "stalled viewer",
  );
  const base0 = kept.map((v) => v.received());
  t0 = performance.now();
  let cutAt: number | null = null;
  const watch = setInterval(() => {
    if (cutAt === null && hub.consoles.console(1).viewerCount <= kept.length) {
      cutAt = performance.now() - t0;
    }
  }, 2);
  await push(true);
  await waitFor(
    () => kept.every((v, i) => v.received() - base0[i] > TOTAL || v.closed()),
    "fast viewers receive all beside the stalled one",
    120_000,
  );
  ms = performance.now() - t0;
  clearInterval(watch);
  const before = kept.length;
  kept = kept.filter((v) => !v.closed());
  console.log(
    `${before} reading + 1 stalled: ${kept.length} kept up and got ${MIB} MiB each in ${
      ms.toFixed(0)
    } ms = ${rate(TOTAL, ms)} each; the stalled one was cut off after ${
      cutAt === null ? "never" : `${(cutAt as number).toFixed(0)} ms`
    }`,
  );
  results.withStalledMiBsEach = TOTAL / 1024 / 1024 / (ms / 1000);
  results.stalledCutAfterMs = cutAt;
  results.withStalledCutOff = before - kept.length;
  stalled.close();
  for (const v of vs) v.close();
  console.log(`JSON ${JSON.stringify(results)}`);
} finally {
  await local.close();
  listener.close();
  try {
    (nodeConn as Deno.Conn | null)?.close();
  } catch { /* closed */ }
  await accepted.catch(() => {});
  await Deno.remove(dataDir, { recursive: true });
}
