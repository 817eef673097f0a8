/**
 * Fault benchmark (not a test): the owner's `GET /api/v1/health` latency and the hub's memory
 * before, during and after each attack (docs/benchmarks.md).
 *
 *   deno task bench:faults [--seconds 8] [--only ws,disk,flood,h2c]
 *
 * Per attack a fresh hub process (tests/support/hub_process.ts, simulated module, no virtual
 * agents) is measured for `--seconds` before the attack, during it and after it: one health
 * probe with the admin token every 20 ms, each on a new connection, p50/p99 and failures, and
 * the hub's peak RSS (/proc/PID/status). Attacks:
 *
 * - `ws`: 8 WebSockets (no token) sending 1 MiB continuation frames of a message that never
 *   ends, reconnecting whenever the hub closes them;
 * - `disk`: the data directory on a 32 MiB tmpfs, filled to the last byte right after a
 *   `power cycle 1-60` starts (`?wait=false`), a `POST /nodes/7/led` every 100 ms (refused 507);
 *   freed for the after phase;
 * - `flood`: 1000 kept-alive idle connections from 127.0.0.2-5, topped up every 200 ms as the
 *   hub sheds them;
 * - `h2c`: `curl --http2-prior-knowledge` on /api/v1/events, 4 at a time, each cut after 1 s.
 *
 * Loopback only; every child and mount is removed on exit.
 */
import { parseArgs } from "node:util";
import { HubProcess } from "../tests/support/hub_process.ts";
import { SmallDisk } from "../tests/support/small_disk.ts";
import { endFlood, idleFlood } from "../tests/support/flood.ts";
import { clientFrame, rawWebSocket } from "../tests/support/ws_frames.ts";
import type net from "node:net";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    only: { type: "string", default: "ws,disk,flood,h2c" },
  },
});
const SECONDS = Number(flags.seconds);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

/** What one phase measured. */
interface Phase {
  p50: number;
  p99: number;
  probes: number;
  failed: number;
  rssMiB: number;
}

/** Probes /health with the token every 20 ms for `seconds`, sampling RSS. */
async function measure(hub: HubProcess, seconds: number): Promise<Phase> {
  const times: number[] = [];
  let failed = 0, rss = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    try {
      using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const res = await fetch(`${hub.url}/api/v1/health`, {
        headers: { authorization: "Bearer T" },
        client,
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
      if (res.status === 200) times.push(performance.now() - t0);
      else failed++;
    } catch {
      failed++;
    }
    if (hub.alive()) rss = Math.max(rss, hub.rss());
    await sleep(Math.max(0, 20 - (performance.now() - t0)));
  }
  times.sort((a, b) => a - b);
  const q = (p: number) =>
    times.length ? times[Math.min(times.length - 1, Math.floor(p * times.length))] : NaN;
  return { p50: q(0.5), p99: q(0.99), probes: times.length + failed, failed, rssMiB: rss / MiB };
}

/** An attack: start() begins it, stop() ends it (and undoes what it did). */
interface Attack {
  name: string;
  dataDir?: () => Promise<{ dir: string; cleanup: () => Promise<void> }>;
  start(hub: HubProcess): Promise<void>;
  stop(): Promise<void>;
}

function wsFragments(): Attack {
  let running = false;
  const loops: Promise<void>[] = [];
  let closedByHub = 0;
  return {
    name: "ws: 8 sockets of never-ending 1 MiB fragments",
    start(hub) {
      running = true;
      const piece = new Uint8Array(MiB).fill(0x20);
      const first = clientFrame(1, piece, false), more = clientFrame(0, piece, false);
      for (let i = 0; i < 8; i++) {
        loops.push((async () => {
          while (running) {
            const conn = await rawWebSocket(hub.port, "/api/v1/ws").catch(() => null);
            if (!conn) {
              await sleep(50);
              continue;
            }
            try {
              await conn.write(first);
              while (running) await conn.write(more);
            } catch {
              closedByHub++;
            }
            try {
              conn.close();
            } catch { /* closed */ }
          }
        })());
      }
      return Promise.resolve();
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      console.log(`  (sockets closed by the hub: ${closedByHub})`);
    },
  };
}

function diskFull(): Attack {
  let disk: SmallDisk | null = null;
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  const statuses = new Map<number, number>();
  return {
    name: "disk: data dir full during a power cycle of 1-60",
    async dataDir() {
      disk = await SmallDisk.mount(32);
      const d = disk;
      return { dir: `${d.dir}/data`, cleanup: () => d.unmount() };
    },
    async start(hub) {
      const res = await hub.fetch("/api/v1/power?wait=false", {
        method: "POST",
        body: JSON.stringify({ state: "cycle", nodes: "1-60" }),
      });
      await res.body?.cancel();
      await disk!.fill();
      running = true;
      loop = (async () => {
        while (running) {
          const r = await hub.fetch("/api/v1/nodes/7/led", {
            method: "POST",
            body: JSON.stringify({ mode: "identify" }),
          }).catch(() => null);
          await r?.body?.cancel();
          statuses.set(r?.status ?? 0, (statuses.get(r?.status ?? 0) ?? 0) + 1);
          await sleep(100);
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      await disk!.free();
      console.log(
        `  (LED calls while full, by status: ${JSON.stringify(Object.fromEntries(statuses))})`,
      );
    },
  };
}

function connectionFlood(): Attack {
  let socks: net.Socket[] = [];
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  const addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  return {
    name: "flood: 1000 idle keep-alive connections from 127.0.0.2-5, topped up",
    async start(hub) {
      socks = await idleFlood(hub.port, addresses, 250);
      running = true;
      loop = (async () => {
        while (running) {
          await sleep(200);
          socks = socks.filter((s) => !s.destroyed && !s.closed);
          const missing = Math.floor((1000 - socks.length) / 4);
          if (missing > 0) socks.push(...await idleFlood(hub.port, addresses, missing));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      console.log(
        `  (flood connections open at the end: ${socks.filter((s) => !s.destroyed).length})`,
      );
      endFlood(socks);
    },
  };
}

function h2c(): Attack {
  let running = false;
  const loops: Promise<void>[] = [];
  let runs = 0;
  return {
    name: "h2c: curl --http2-prior-knowledge on /api/v1/events, 4 at a time",
    start(hub) {
      running = true;
      for (let i = 0; i < 4; i++) {
        loops.push((async () => {
          while (running) {
            await new Deno.Command("curl", {
              args: ["-s", "--http2-prior-knowledge", "-N", "-m", "1", `${hub.url}/api/v1/events`],
              stdout: "null",
              stderr: "null",
            }).output().catch(() => null);
            runs++;
          }
        })());
      }
      return Promise.resolve();
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      console.log(`  (h2c requests: ${runs})`);
    },
  };
}

const ATTACKS: Record<string, () => Attack> = {
  ws: wsFragments,
  disk: diskFull,
  flood: connectionFlood,
  h2c,
};

const fmt = (p: Phase) =>
  `${p.p50.toFixed(1)} / ${p.p99.toFixed(1)} ms, ${p.failed}/${p.probes} failed, RSS ${
    p.rssMiB.toFixed(0)
  } MiB`;

const rows: string[] = [];
for (const key of flags.only.split(",")) {
  const attack = ATTACKS[key]?.();
  if (!attack) throw new Error(`unknown attack ${key}; one of ${Object.keys(ATTACKS).join(", ")}`);
  console.log(`${attack.name}`);
  const where = attack.dataDir
    ? await attack.dataDir()
    : await Deno.makeTempDir({ prefix: `faults-bench-${Deno.pid}-` }).then((dir) => ({
      dir,
      cleanup: () => Deno.remove(dir, { recursive: true }),
    }));
  const hub = await HubProcess.start(where.dir);
  try {
    await sleep(1000);
    const before = await measure(hub, SECONDS);
    console.log(`  before: ${fmt(before)}`);
    await attack.start(hub);
    const during = await measure(hub, SECONDS);
    console.log(`  during: ${fmt(during)}`);
    await attack.stop();
    await sleep(1500);
    const after = await measure(hub, SECONDS);
    console.log(`  after:  ${fmt(after)}`);
    const up = hub.alive() ? "up" : "DEAD";
    console.log(`  hub ${up}`);
    rows.push(
      `| ${key} | ${before.p99.toFixed(1)} | ${
        during.p99.toFixed(1)
      } (${during.failed}/${during.probes} failed) | ${after.p99.toFixed(1)} | ${
        before.rssMiB.toFixed(0)
      } / ${during.rssMiB.toFixed(0)} / ${after.rssMiB.toFixed(0)} | ${up} |`,
    );
  } finally {
    await hub.stop();
    await where.cleanup();
  }
}
console.log(
  "\n| attack | health p99 before, ms | during | after | RSS MiB before / during / after | hub |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
