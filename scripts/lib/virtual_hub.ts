/**
 * A whole hub on the simulated module with its virtual cluster, served on a random loopback
 * port in a temp data directory: what `deno task demo` and the dashboard screenshot run.
 */
import { createHub, type Hub } from "../../hub/hub.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { VirtualCluster } from "../../hub/virtual/virtual_cluster.ts";
import { realClock } from "../../shared/clock.ts";

/** A running virtual hub. */
export interface VirtualHub {
  hub: Hub;
  url: string;
  virtual: VirtualCluster;
  /** Stops agents, server and hub, and removes the data directory. */
  close(): Promise<void>;
}

/** Starts a hub whose timeline is scaled by `scale` (nodes boot in 30 s × scale). */
export async function startVirtualHub(scale: number): Promise<VirtualHub> {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-virtual-" });
  const bootMs = Math.round(30_000 * scale);
  const sim = new SimulatedModule({ nodeCount: 60, clock: realClock });
  const hub = createHub({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    nodeCount: 60,
    lostAfterMs: 3000,
    heartbeatIntervalMs: 1000,
    virtualAgents: true,
    simBootMs: bootMs,
    timeScale: scale,
  }, { power: sim });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    hub.app.fetch,
  );
  await hub.start();
  const url = `http://127.0.0.1:${server.addr.port}`;
  const virtual = new VirtualCluster({
    sim,
    map: hub.map,
    hubUrl: url,
    agentKeyFor: (n) => hub.agentKeys.keyFor(n),
    bootDelayMs: bootMs,
  });
  virtual.attach();
  return {
    hub,
    url,
    virtual,
    async close() {
      await virtual.close();
      ac.abort();
      await server.finished;
      await hub.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
