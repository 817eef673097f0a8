/**
 * `deno task demo`: the whole 60-node bootstrap on one machine in compressed time. A hub on
 * the simulated module, a virtual node agent per powered bay, `cm bootstrap` with its
 * progress bar, then `cm status`. Pass a time scale (default 0.05: 2:30 becomes ~10 s).
 */
import { runCli } from "../hub/cli/main.ts";
import { createHub } from "../hub/hub.ts";
import { SimulatedModule } from "../hub/power/simulated_module.ts";
import { VirtualCluster } from "../hub/virtual/virtual_cluster.ts";
import { realClock } from "../shared/clock.ts";

const scale = Number(Deno.args[0] ?? "0.05");
if (!(scale > 0 && scale <= 1)) {
  console.error("usage: deno task demo [TIME_SCALE]   (0 < TIME_SCALE <= 1, default 0.05)");
  Deno.exit(2);
}
const dataDir = await Deno.makeTempDir({ prefix: "cm-demo-" });
const sim = new SimulatedModule({ nodeCount: 60, clock: realClock });
const hub = createHub({
  host: "127.0.0.1",
  port: 0,
  dataDir,
  nodeCount: 60,
  lostAfterMs: 3000,
  heartbeatIntervalMs: 1000,
  virtualAgents: true,
  simBootMs: Math.round(30_000 * scale),
  timeScale: scale,
}, { power: sim });
await hub.start();
const ac = new AbortController();
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
  hub.app.fetch,
);
const url = `http://127.0.0.1:${server.addr.port}`;
const virtual = new VirtualCluster({
  sim,
  map: hub.map,
  hubUrl: url,
  agentKey: hub.agentKey.value,
  bootDelayMs: Math.round(30_000 * scale),
});
virtual.attach();
console.log(`demo: hub on ${url} (dashboard there too), time scale ${scale}`);
const env = (n: string) =>
  ({ CM_HUB: url, CM_TOKEN: hub.token.value } as Record<string, string>)[n];
const t0 = Date.now();
const code = await runCli(["bootstrap"], undefined, env);
console.log(
  `demo: bootstrap took ${((Date.now() - t0) / 1000).toFixed(1)} s (${
    ((Date.now() - t0) / 1000 / scale).toFixed(0)
  } s at full time)`,
);
await runCli(["status"], undefined, env);
await virtual.close();
ac.abort();
await server.finished;
await hub.close();
await Deno.remove(dataDir, { recursive: true });
Deno.exit(code);
