/** `events [--limit N]`: the hub's latest events, each naming its module (`MODULE:N` for nodes). */
import { ClusterError } from "../../../shared/errors.ts";
import { fleetNodeName } from "../../../shared/module_name.ts";
import type { ClusterEvent } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";

/** One event as a line: time, `MODULE:N` (or the module), type, message. */
export function formatEvent(e: ClusterEvent): string {
  const where = e.module === undefined
    ? (e.node === null ? "-" : `node ${e.node}`)
    : e.node === null
    ? e.module
    : fleetNodeName(e.module, e.node);
  return `${new Date(e.at).toISOString()}  ${where.padEnd(14)} ${e.type.padEnd(18)} ${e.message}`;
}

/** Takes `--limit N` (1-1000, default 20) out of the arguments. */
function limitOf(args: string[]): number {
  if (args.length === 0) return 20;
  const [flag, value] = args;
  const n = Number(value);
  if (
    args.length !== 2 || flag !== "--limit" || !/^[0-9]+$/.test(value ?? "") || n < 1 || n > 1000
  ) {
    throw new ClusterError("bad_request", "usage: events [--limit N] (N from 1 to 1000)");
  }
  return n;
}

/** `cm events` */
export const eventsCommand: CliCommand = {
  name: "events",
  usage: "events [--limit N]",
  summary: "the latest events (default 20), each naming its module and node",
  async run(ctx) {
    const limit = limitOf(ctx.args);
    const events = await ctx.api.get<ClusterEvent[]>(`/events?format=json&limit=${limit}`);
    if (ctx.json) ctx.out(JSON.stringify(events, null, 2));
    else for (const e of events) ctx.out(formatEvent(e));
    return 0;
  },
};
