/**
 * The agent's kernel command line arguments: `cm.hub=URL cm.node=N cm.key=KEY`, set per node
 * in the netboot cmdline.txt so one read-only image serves every bay.
 */

import { MAX_NODE_ID } from "../shared/node_map.ts";

/** What the kernel command line says about the agent. */
export interface KernelArgs {
  hub?: string;
  node?: number;
  key?: string;
}

/** Parses /proc/cmdline text; unknown or malformed `cm.*` values are left out. */
export function parseKernelArgs(text: string): KernelArgs {
  const args: KernelArgs = {};
  for (const word of text.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq < 0) continue;
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    if (value === "") continue;
    if (key === "cm.hub") args.hub = value;
    else if (key === "cm.key") args.key = value;
    else if (key === "cm.node" && /^[0-9]+$/.test(value)) {
      const n = Number(value);
      if (n >= 1 && n <= MAX_NODE_ID) args.node = n;
    }
  }
  return args;
}
