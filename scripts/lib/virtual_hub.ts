/**
 * A whole hub on the simulated module with its virtual cluster, served on a random loopback
 * port in a temp data directory: what `deno task demo` and the dashboard screenshot run.
 * Built by the hub's own composition root, as `deno task hub` builds it.
 */
import { type Hub, serveLocalHub } from "../../hub/hub.ts";

/** A running virtual hub. */
export interface VirtualHub {
  hub: Hub;
  url: string;
  /** The virtual cluster's agents (kill one to show a lost node). */
  virtual: NonNullable<Hub["virtual"]>;
  /** Stops agents, server and hub, and removes the data directory. */
  close(): Promise<void>;
}

/** Starts a hub whose timeline is scaled by `scale` (nodes boot in 30 s × scale). */
export async function startVirtualHub(scale: number): Promise<VirtualHub> {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-virtual-" });
  try {
    const local = await serveLocalHub({
      host: "127.0.0.1",
      port: 0,
      dataDir,
      nodeCount: 60,
      lostAfterMs: 3000,
      heartbeatIntervalMs: 1000,
      virtualAgents: true,
      simBootMs: Math.round(30_000 * scale),
      timeScale: scale,
    });
    return {
      hub: local.hub,
      url: local.url,
      virtual: local.hub.virtual!,
      async close() {
        await local.close();
        await Deno.remove(dataDir, { recursive: true });
      },
    };
  } catch (e) {
    await Deno.remove(dataDir, { recursive: true });
    throw e;
  }
}
