/**
 * Held-reply benchmark (not a test): the hub's cost of holding heartbeat answers. Starts the hub
 * as its own process (simulated module, no virtual agents), switches the 60 bays on, and runs 60
 * clients that heartbeat as the agents' passes do: one heartbeat per node on each whole second
 * (the next only once the answer came), with `holdMs` 700 or none, in alternating rounds of
 * `--seconds` each (none, held, none, held, …). Prints the hub's CPU (% of one core, from
 * /proc/PID/stat) and RSS per round, and how long answers took.
 *
 *   deno task bench:held [--seconds 30] [--rounds 4] [--nodes 60]
 *
 * All traffic stays on 127.0.0.1; the hub and its temp dir are removed at the end.
 */
import { parseArgs } from "node:util";
import { heartbeatJson } from "./lib/heartbeat.ts";
import { CLK_TCK, cpuTicks, loadavg, machine, rssMiB } from "./lib/proc.ts";
import { percentile } from "./lib/edges.ts";
import { HubProcess } from "../tests/support/hub_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "30" },
    rounds: { type: "string", default: "4" },
    nodes: { type: "string", default: "60" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const nodes = Number(values.nodes);
if (!(seconds > 0) || !(rounds >= 2) || !(nodes >= 1 && nodes <= 60)) {
  throw new Error("bad --seconds, --rounds (≥ 2) or --nodes (1–60)");
}
const HOLD_MS = 700;

/** One round: every node heartbeats each whole second for `seconds`; answer times in ms. */
async function round(hub: HubProcess, holdMs: number, seqs: number[]): Promise<number[]> {
  const until = Date.now() + seconds * 1000;
  const took: number[] = [];
  const client = async (node: number) => {
    while (Date.now() < until) {
      const body = JSON.parse(heartbeatJson(node, { seq: seqs[node]++, uptimeSeconds: 100 }));
      if (holdMs) body.holdMs = holdMs;
      const start = performance.now();
      const res = await hub.fetch("/api/v1/agent/heartbeat", {
        method: "POST",
        headers: { authorization: "Bearer K", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await res.text();
      if (res.status !== 200) throw new Error(`heartbeat of node ${node}: ${res.status}`);
      took.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
    }
  };
  await Promise.all(Array.from({ length: nodes }, (_, i) => client(i + 1)));
  return took;
}

const dataDir = await Deno.makeTempDir({ prefix: "held-bench-" });
const hub = await HubProcess.start(dataDir);
try {
  const on = await hub.fetch("/api/v1/power", {
    method: "POST",
    body: JSON.stringify({ state: "on", nodes: `1-${nodes}` }),
  });
  if (on.status !== 200) throw new Error(`power on: ${on.status} ${await on.text()}`);
  await on.text();
  const seqs = new Array(61).fill(0);
  await round(hub, 0, seqs); // warm-up
  const rows: { holdMs: number; cpu: number; rss: number; p50: number; p99: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const holdMs = r % 2 === 0 ? 0 : HOLD_MS;
    const t0 = cpuTicks(hub.pid);
    const w0 = performance.now();
    const took = (await round(hub, holdMs, seqs)).sort((a, b) => a - b);
    const cpu = (cpuTicks(hub.pid) - t0) / CLK_TCK / ((performance.now() - w0) / 1000) * 100;
    const row = {
      holdMs,
      cpu,
      rss: rssMiB(hub.pid),
      p50: percentile(took, 50),
      p99: percentile(took, 99),
    };
    rows.push(row);
    console.log(
      `round ${r + 1}: holdMs ${holdMs || "none"}: hub CPU ${cpu.toFixed(2)} %, RSS ${
        row.rss.toFixed(0)
      } MiB, answers p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms (${took.length})`,
    );
  }
  const mean = (h: number) => {
    const c = rows.filter((x) => x.holdMs === h).map((x) => x.cpu);
    return c.reduce((a, b) => a + b, 0) / c.length;
  };
  const m = machine();
  console.log(
    `${nodes} nodes, ${seconds} s rounds: hub CPU ${mean(0).toFixed(2)} % without holding, ` +
      `${mean(HOLD_MS).toFixed(2)} % with ${nodes} answers held ${HOLD_MS} ms ` +
      `(${m.cpu}, ${m.nproc} cores, load ${loadavg()})`,
  );
} finally {
  await hub.stop();
  await Deno.remove(dataDir, { recursive: true });
}
