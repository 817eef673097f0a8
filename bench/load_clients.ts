/**
 * Flood clients for bench/load_bench.ts (not a test), run as their own process so that their
 * work does not skew the bench's latency probes and they get their own fd limit:
 *
 *   deno run --allow-net bench/load_clients.ts ws|sse|slowloris COUNT URL
 *
 * - `ws`: COUNT WebSockets to URL/api/v1/ws, no token, each sends `subscribe` and reads;
 * - `sse`: COUNT `GET URL/api/v1/events` streams, read as they come;
 * - `slowloris`: COUNT TCP connections that send a request line and then one header line
 *   every second, never finishing the head.
 *
 * Prints one JSON line per second: `{"open":N,"refused":N,"closed":N,"opened":N}` (refused:
 * never got through; closed: the hub ended it later), and `{"done":true,…}` once every
 * connection was tried. Exits when stdin closes (or is killed), closing everything.
 */
const [mode, countText, base] = Deno.args;
const count = Number(countText);
if (!["ws", "sse", "slowloris"].includes(mode) || !(count > 0) || !base) {
  console.error("usage: load_clients.ts ws|sse|slowloris COUNT URL");
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
      if (!Deno.env.get("LOAD_NO_SUBSCRIBE")) ws.send(JSON.stringify({ id: 1, type: "subscribe" }));
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

async function openSlowloris(): Promise<void> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  } catch {
    counts.refused++;
    return;
  }
  const enc = new TextEncoder();
  counts.opened++;
  counts.open++;
  let alive = true;
  closers.push(() => {
    alive = false;
    try {
      conn.close();
    } catch { /* closed */ }
  });
  (async () => {
    try {
      await conn.write(enc.encode(`GET /api/v1/health HTTP/1.1\r\nHost: ${url.host}\r\n`));
      // The hub may answer (e.g. 503 when full) or close: either ends this connection.
      const reader = (async () => {
        const buf = new Uint8Array(1024);
        while ((await conn.read(buf)) !== null) { /* drain */ }
      })();
      let n = 0;
      while (alive) {
        const more = await Promise.race([sleep(1000).then(() => true), reader.then(() => false)]);
        if (!more) break;
        await conn.write(enc.encode(`X-Slow-${n++}: ${"a".repeat(8)}\r\n`));
      }
    } catch { /* reset by the hub */ }
    if (alive) {
      counts.open--;
      counts.closed++;
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })();
}

const open = mode === "ws" ? openWs : mode === "sse" ? openSse : openSlowloris;
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
