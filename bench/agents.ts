/**
 * Benchmark helper (not a test): runs node agents 1..N in one process with the hub's own
 * virtual cluster (real `startAgent`, simulated GPIO line, synthetic health), reporting to a
 * hub over loopback. Driven by `bench/hub_bench.ts` over stdin/stdout, one JSON object
 * per line:
 *
 *   stdin:  `stop N`  stop node N's agent (as a crash would)    stdout: {"stopped":N,...}
 *           `quit`    stop every agent and exit
 *   stdout: {"ready":N} once all agents are started
 *
 * It also exits by itself when stdin closes or after `--max-seconds` (default 900).
 *
 *   deno run --allow-net --allow-read bench/agents.ts --hub http://127.0.0.1:P --key K
 */
import { parseArgs } from "node:util";
import { realClock } from "../shared/clock.ts";
import { buildNodeMap } from "../shared/node_map.ts";
import { SimulatedModule, VirtualCluster } from "../hub/virtual/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    hub: { type: "string" },
    key: { type: "string" },
    nodes: { type: "string", default: "60" },
    "interval-ms": { type: "string", default: "1000" },
    "max-seconds": { type: "string", default: "900" },
  },
});
if (!values.hub || !values.key) throw new Error("--hub and --key are required");
const count = Number(values.nodes);
const intervalMs = Number(values["interval-ms"]);
const maxSeconds = Number(values["max-seconds"]);
if (!(count >= 1 && count <= 60) || !(intervalMs > 0) || !(maxSeconds > 0)) {
  throw new Error("bad --nodes, --interval-ms or --max-seconds");
}

const enc = new TextEncoder();
const say = (o: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(o) + "\n"));

// The hub's own virtual cluster on a simulated module whose first `count` rails are on: every
// agent boots at once (no boot delay, no netboot log).
const map = buildNodeMap();
const sim = new SimulatedModule({
  map,
  clock: realClock,
  initial: (node) => (node <= count ? "on" : "off"),
});
const cluster = new VirtualCluster({
  sim,
  map,
  hubUrl: values.hub,
  agentKeyFor: () => values.key!,
  bootDelayMs: 0,
  intervalMs,
});
cluster.attach();
const startDeadline = Date.now() + 60_000;
while (cluster.agents.size < count) {
  if (Date.now() > startDeadline) throw new Error(`only ${cluster.agents.size} agents started`);
  await new Promise((r) => setTimeout(r, 10));
}
const agents = cluster.agents;
say({ ready: agents.size });

async function stopAll(): Promise<void> {
  await cluster.close();
}

// Lifetime bound: whatever the driver does, this process ends by itself.
const deadline = setTimeout(async () => {
  await stopAll();
  Deno.exit(3);
}, maxSeconds * 1000);

const dec = new TextDecoder();
let pending = "";
commands: for await (const chunk of Deno.stdin.readable) {
  pending += dec.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (line === "quit") break commands;
    const m = /^stop ([0-9]+)$/.exec(line);
    if (!m) continue;
    const node = Number(m[1]);
    const agent = agents.get(node);
    const at = realClock.now();
    const sent = agent?.sent ?? 0;
    await cluster.kill(node);
    say({ stopped: node, at, done: realClock.now(), sent, found: agent !== undefined });
  }
}
clearTimeout(deadline);
await stopAll();
Deno.exit(0);
