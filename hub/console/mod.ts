/**
 * The consoles' public face, for scripts and benchmarks that give a hub console sources of
 * their own (`HubOverrides.consoles`). Everything else in hub/console/ is internal.
 */
export type { ConsoleSource } from "./console_source.ts";
export { SocketConsoleSource } from "./socket_source.ts";
