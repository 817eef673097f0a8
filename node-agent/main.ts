/**
 * Entry point of the node agent: `deno task agent [flags]` (see `--help`). Runs until SIGTERM
 * or SIGINT, then leaves the LED off, releases the GPIO line and exits 0.
 */
import { ClusterError } from "../shared/errors.ts";
import { HardwareError } from "../shared/pins/errors.ts";
import { SimulatedGpioLine } from "../shared/pins/simulated.ts";
import { blockThread, startAgent } from "./agent.ts";
import { loadAgentOptions, USAGE } from "./config.ts";
import { consoleLogger } from "./log.ts";
import { connectTcp } from "./sync_socket.ts";

/**
 * No timer lead: each LED edge costs one timer (about 1 ms late: Deno's timers round up), not
 * a timer plus a futex wait for sub-millisecond edges, and the heartbeat shares the rising
 * edge's timer (agent.ts). Half the wake-ups, for an error no eye sees (docs/agent.md#footprint).
 */
const LED_LEAD_MS = 0;

async function main(): Promise<number> {
  let options;
  try {
    options = await loadAgentOptions(Deno.args);
  } catch (e) {
    console.error(`cluster-agent: ${(e as Error).message}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const { simEdgeLog, ...agentOptions } = options;
  let agent;
  try {
    agent = await startAgent({
      ...agentOptions,
      logger: consoleLogger,
      ledLeadMs: LED_LEAD_MS,
      blockWhenIdle: blockThread,
      heartbeatSocket: connectTcp,
    });
  } catch (e) {
    const msg = e instanceof ClusterError || e instanceof HardwareError
      ? e.message
      : `unexpected: ${(e as Error).stack}`;
    console.error(`cluster-agent: ${msg}`);
    return 1;
  }
  const { promise: signalled, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => resolve(sig));
  const sig = await signalled;
  consoleLogger.info(
    agent.line
      ? `${sig}: turning the LED off and releasing GPIO ${agent.line.gpio}`
      : `${sig}: leaving the bay LED dark`,
  );
  await agent.stop();
  if (simEdgeLog && agent.line instanceof SimulatedGpioLine) {
    await Deno.writeTextFile(simEdgeLog, JSON.stringify(agent.line.edges));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
