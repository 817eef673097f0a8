/**
 * The node agent's public face, for embedding it in another process (the hub's virtual
 * cluster, the benchmarks): start an agent on a line, the logger it reports through, and the
 * LED engine alone (the heartbeat benchmark).
 * Everything else in node-agent/ is internal.
 */
export { type AgentHandle, BAY_LED_GPIO, startAgent } from "./agent.ts";
export { type Logger, silentLogger } from "./log.ts";
export { LedEngine } from "./led/engine.ts";
