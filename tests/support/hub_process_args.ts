/**
 * The arguments a test gives `deno` to run the hub as its own process: `hub/main.ts` with all
 * permissions (as its unit runs it), any free port, a throwaway data dir, fixed secrets, no
 * virtual agents.
 */
export function hubProcessArgs(dataDir: string, extra: string[] = []): string[] {
  return [
    "run",
    "--allow-all",
    "hub/main.ts",
    "--port",
    "0",
    "--data-dir",
    dataDir,
    "--token",
    "T",
    "--agent-key",
    "K",
    "--no-agents",
    ...extra,
  ];
}
