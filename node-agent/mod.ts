/**
 * The node agent's public face, for embedding it in another process (the hub's virtual
 * cluster, the benchmarks): start an agent on a line, and the logger it reports through.
 * Everything else in node-agent/ is internal.
 */
export { type AgentHandle, BAY_LED_GPIO, startAgent } from "./agent.ts";
export { type Logger, silentLogger } from "./log.ts";
