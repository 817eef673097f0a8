/** Entry point: `deno task hub` serves the hub (simulated module unless configured). */
import { ClusterError } from "../shared/errors.ts";
import { HUB_USAGE, parseHubSettings } from "./config.ts";
import { createHub } from "./hub.ts";
import { openConfiguredPowerSwitch } from "./power/open_configured.ts";
import { SimulatedModule } from "./power/simulated_module.ts";
import { VirtualCluster } from "./virtual/virtual_cluster.ts";
import { realClock } from "../shared/clock.ts";

async function main(): Promise<number> {
  let settings;
  try {
    settings = parseHubSettings(Deno.args);
  } catch (e) {
    console.error(`hub: ${e instanceof Error ? e.message : e}\n\n${HUB_USAGE}`);
    return 2;
  }
  if (!settings) {
    console.log(HUB_USAGE);
    return 0;
  }
  const sim = new SimulatedModule({ nodeCount: settings.nodeCount, clock: realClock });
  const power = settings.powerConfigPath
    ? await openConfiguredPowerSwitch(settings.powerConfigPath, () => sim)
    : sim;
  const hub = createHub(settings, { power });
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: settings.host,
    port: settings.port,
    signal: ac.signal,
    onListen: ({ hostname, port }) => {
      console.log(
        `hub: serving ${hub.map.bays.length} nodes (${hub.service.d.power.name} module) on http://${hostname}:${port}`,
      );
      console.log(`hub: data in ${settings.dataDir}`);
      if (hub.token.created) {
        console.log(
          `hub: generated admin token (shown once; also in ${hub.token.path}):\n  ${hub.token.value}`,
        );
      }
      if (hub.agentKey.created) console.log(`hub: generated agent key in ${hub.agentKey.path}`);
    },
  }, (req, info) => hub.app.fetch(req, info));
  // Only once the port is ours: read the rails, restore desired state, start netboot.
  await hub.start();
  // On the simulated module, powered bays boot into real agents reporting over loopback.
  let virtual: VirtualCluster | undefined;
  if (power === sim && settings.virtualAgents) {
    const host = settings.host === "0.0.0.0" || settings.host === "::"
      ? "127.0.0.1"
      : settings.host;
    virtual = new VirtualCluster({
      sim,
      map: hub.map,
      hubUrl: `http://${host.includes(":") ? `[${host}]` : host}:${server.addr.port}`,
      agentKey: hub.agentKey.value,
      bootDelayMs: settings.simBootMs,
      intervalMs: settings.heartbeatIntervalMs,
    });
    virtual.attach();
    console.log(
      `hub: virtual cluster on: powered bays boot into node agents after ${settings.simBootMs} ms`,
    );
  }
  let stopping = false;
  const stop = () => {
    if (stopping) {
      console.error("hub: stopping at once (second signal)");
      Deno.exit(130);
    }
    stopping = true;
    console.log("hub: stopping (running jobs get a few seconds; signal again to stop at once)");
    ac.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  await virtual?.close();
  await hub.close();
  console.log("hub: stopped");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    if (e instanceof ClusterError) {
      console.error(`hub: ${e.message}`);
      Deno.exit(1);
    }
    if (e instanceof Deno.errors.AddrInUse) {
      console.error(`hub: the port is already in use (${e.message}); pick another with --port`);
      Deno.exit(1);
    }
    // Anything else (a data directory that cannot be created, an address that does not
    // resolve, …): one clear line, no stack trace.
    console.error(`hub: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
