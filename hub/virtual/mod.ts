/**
 * The virtual cluster's public face, for scripts and benchmarks that run node agents without
 * a hub process of their own: a simulated module and real agents on its powered rails.
 * Everything else in hub/virtual/ is internal.
 */
export { SimulatedModule } from "../power/simulated_module.ts";
export { VirtualCluster, type VirtualClusterOptions } from "./virtual_cluster.ts";
