/**
 * Flood clients for bench/load_bench.ts (not a test), run as their own process so that their
 * work does not skew the bench's latency probes and they get their own fd limit:
 *
 *   deno run --allow-net bench/load_clients.ts ws|ws-quiet|sse|slowloris COUNT URL
 *
 * - `ws`: COUNT WebSockets to URL/api/v1/ws, no token, each sends `subscribe` and reads;
 * - `ws-quiet`: the same without `subscribe` (what the sockets alone cost);
 * - `sse`: COUNT `GET URL/api/v1/events` streams, read as they come;
 * - `slowloris`: COUNT TCP connections from 127.0.0.2 (another "host" on loopback, so the
 *   per-address cap falls on the attacker, not on the bench's probes from 127.0.0.1) that
 *   send a request line and then one header line every second, never finishing the head.
 *
 * Prints one JSON line per second: `{"open":N,"refused":N,"closed":N,"opened":N}` (refused:
 * never got through; closed: the hub ended it later), and `{"done":true,…}` once every
 * connection was tried. Exits when stdin closes (or is killed), closing everything.
 */
import net from "node:net";

const [mode, countText, base] = Deno.args;
const count = Number(countText);
if (!["ws", "ws-quiet", "sse", "slowloris"].includes(mode) || !(count > 0) || !base) {
  console.error("usage: load_clients.ts ws|ws-quiet|sse|slowloris COUNT URL");
  Deno.exit(2);
}
const url = new URL(base);
const counts = {
  opened: 0,
  open: 0,
  refused: 0,
  closed: 0,
  statuses: {} as Record<string, number>,
};
const closers: (() => void)[] = [];

function report(extra: Record<string, unknown> = {}) {
  console.log(JSON.stringify({ ...counts, ...extra }));
}

function openWs(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${url.host}/api/v1/ws`);
    let opened = false;
    const timer = setTimeout(() => {
      if (!opened) ws.close();
    }, 10_000);
    ws.onopen = () => {
      opened = true;
      clearTimeout(timer);
      counts.opened++;
      counts.open++;
      if (mode === "ws") ws.send(JSON.stringify({ id: 1, type: "subscribe" }));
      resolve();
    };
    ws.onmessage = () => {};
    ws.onclose = (e) => {
      clearTimeout(timer);
      if (opened) {
        counts.open--;
        counts.closed++;
        counts.statuses[`close ${e.code}`] = (counts.statuses[`close ${e.code}`] ?? 0) + 1;
      } else {
        counts.refused++;
        resolve();
      }
    };
    ws.onerror = () => {};
    closers.push(() => ws.close());
  });
}

async function openSse(): Promise<void> {
  const ac = new AbortController();
  closers.push(() => ac.abort());
  try {
    const res = await fetch(`http://${url.host}/api/v1/events`, {
      signal: AbortSignal.any([ac.signal, AbortSignal.timeout(600_000)]),
    });
    counts.statuses[res.status] = (counts.statuses[res.status] ?? 0) + 1;
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      counts.refused++;
      return;
    }
    counts.opened++;
    counts.open++;
    (async () => {
      try {
        for await (const _ of res.body!) { /* read and drop */ }
      } catch { /* aborted */ }
      counts.open--;
      counts.closed++;
    })();
  } catch {
    counts.refused++;
  }
}

function openSlowloris(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port),
      localAddress: "127.0.0.2",
    });
    let connected = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    closers.push(() => socket.destroy());
    socket.on("connect", () => {
      connected = true;
      counts.opened++;
      counts.open++;
      socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: ${url.host}\r\n`);
      let n = 0;
      timer = setInterval(() => socket.write(`X-Slow-${n++}: ${"a".repeat(8)}\r\n`), 1000);
      resolve();
    });
    socket.on("data", (d: Uint8Array) => {
      const status = new TextDecoder().decode(d).match(/^HTTP\/1\.1 (\d+)/)?.[1];
      if (status) counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      if (connected) {
        counts.open--;
        counts.closed++;
      } else {
        counts.refused++;
        resolve();
      }
    });
  });
}

const open = mode.startsWith("ws") ? openWs : mode === "sse" ? openSse : openSlowloris;
const ticker = setInterval(() => report(), 1000);
// Open in waves of 50 so the hub's accept queue is not the only thing measured.
for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => open()));
}
report({ done: true });
// Hold until stdin closes.
try {
  for await (const _ of Deno.stdin.readable) { /* wait */ }
} catch { /* closed */ }
clearInterval(ticker);
for (const close of closers) close();
Deno.exit(0);
