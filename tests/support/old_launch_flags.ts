/**
 * The Deno flags the launchers shipped before the permission fix (docs/permissions.md), for the
 * tests that show such a process now stops with the fix named. One list for the host test and
 * the kernel suite's guest.
 */

/** What `/opt/cluster-agent/cluster-agent` (install-agent.sh, bundle mode) passed to Deno. */
export const OLD_AGENT_WRAPPER_FLAGS = [
  "--no-prompt",
  "--cached-only",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
] as const;
