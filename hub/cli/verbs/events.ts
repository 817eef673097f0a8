/**
 * `events [SET] [-f] [--lines N]`: the hub's event log, the latest events or followed as they
 * come. `cm -A events` runs it on every hub (with `--json`) and merges the timelines.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { parseIntFlag } from "../../../shared/int_flag.ts";
import { parseNodeSet } from "../../../shared/range.ts";
import type { ClusterEvent, ModuleInfo } from "../../../shared/schemas.ts";
import type { CliCommand, CliContext } from "../command.ts";
import { clockTime } from "./jobs.ts";

/** How often `-f` asks the hub for new events, ms. */
export const FOLLOW_POLL_MS = 500;

/** One event as a line: `14:03:07 power_changed node 7: …`. */
export function formatEvent(e: ClusterEvent): string {
  return `${clockTime(e.at)} ${e.type.padEnd(17)} ${
    e.node === null ? "" : `node ${e.node}: `
  }${e.message}`;
}

/** The arguments of `cm events`. */
export interface EventsArgs {
  follow: boolean;
  lines: number;
  set?: string;
}

/** Reads `[SET] [-f] [--lines N]` (`--limit N` is `--lines N`). */
export function parseEventsArgs(args: readonly string[]): EventsArgs {
  const out: EventsArgs = { follow: false, lines: 20 };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const flag = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (a === "-f" || a === "--follow") out.follow = true;
    else if (flag === "--lines" || flag === "--limit") {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      out.lines = parseIntFlag(flag, v ?? "", 1, 1000);
    } else positional.push(a);
  }
  if (positional.length > 2) throw new ClusterError("bad_request", `usage: ${eventsCommand.usage}`);
  if (positional.length) out.set = positional.join(" ");
  return out;
}

/** Waits `ms`, or less if `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(done, ms);
    function done() {
      clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Prints the latest events of `set`, then with `follow` every new one as it comes, until
 * `signal` aborts (Ctrl-C ends the process).
 */
export async function showEvents(
  ctx: CliContext,
  args: EventsArgs,
  signal?: AbortSignal,
): Promise<void> {
  const wanted = args.set === undefined ? null : new Set(
    parseNodeSet(args.set, (await ctx.api.get<ModuleInfo>("/module")).nodeCount),
  );
  const mine = (e: ClusterEvent) => wanted === null || (e.node !== null && wanted.has(e.node));
  const print = (e: ClusterEvent) => ctx.out(ctx.json ? JSON.stringify(e) : formatEvent(e));
  // Of the recent events, the last `lines` of this set (a filter may need more than `lines`).
  const recent = await ctx.api.get<ClusterEvent[]>(
    `/events?format=json&limit=${wanted === null ? args.lines : 1000}`,
  );
  recent.filter(mine).slice(-args.lines).forEach(print);
  if (!args.follow) return;
  let last = recent.at(-1)?.id ?? 0;
  if (recent.length === 0) {
    last = (await ctx.api.get<ClusterEvent[]>("/events?format=json&limit=1")).at(-1)?.id ?? 0;
  }
  while (!signal?.aborted) {
    await pause(FOLLOW_POLL_MS, signal);
    if (signal?.aborted) break;
    const page = await ctx.api.get<ClusterEvent[]>(`/events?format=json&after=${last}&limit=1000`);
    for (const e of page) if (mine(e)) print(e);
    last = page.at(-1)?.id ?? last;
  }
}

/** `cm events [SET] [-f] [--lines N]` */
export const eventsCommand: CliCommand = {
  name: "events",
  usage: "events [SET] [-f] [--lines N]",
  summary: "the hub's event log (power, lifecycle, boots, jobs); -f follows it as it comes",
  flags: {
    "-f": "follow: print new events as they come, until Ctrl-C",
    "--follow": "the same as -f",
    "--lines N": "how many of the latest events to print first (default 20)",
    "--limit N": "the same as --lines N",
  },
  help: "SET keeps the events of those nodes. --json prints one event per line as JSON.",
  async run(ctx) {
    await showEvents(ctx, parseEventsArgs(ctx.args));
    return 0;
  },
};
