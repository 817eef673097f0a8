/** `power-health`: throttling flags per bay, and BitBars where several bays under-volt. */
import type { PowerHealthReport } from "../../../shared/schemas.ts";
import type { CliCommand } from "../command.ts";

/** The report as lines. */
export function formatPowerHealth(r: PowerHealthReport): string {
  const lines: string[] = [];
  for (const b of r.buses.filter((b) => b.suspect)) {
    const nodes = [...new Set([...b.underVoltageNow, ...b.underVoltageSinceBoot])];
    lines.push(
      `BitBar ${b.bus}: under-voltage on nodes ${nodes.join(", ")}: check its power supply`,
    );
  }
  const flagged = r.bays.filter((b) => b.throttled !== 0);
  for (const b of flagged) {
    lines.push(`node ${String(b.node).padStart(2)} (BitBar ${b.bus}): ${b.description}`);
  }
  const reporting = r.bays.length;
  lines.push(
    `${reporting} bays report throttling flags; ${flagged.length} flagged; ` +
      `${r.buses.filter((b) => b.suspect).length} BitBars suspect`,
  );
  return lines.join("\n");
}

/** `cm power-health` */
export const powerHealthCommand: CliCommand = {
  name: "power-health",
  usage: "power-health",
  summary: "under-voltage and throttling per bay and BitBar, from the agents' reports",
  flags: {},
  async run(ctx) {
    const r = await ctx.api.get<PowerHealthReport>("/power-health");
    ctx.out(ctx.json ? JSON.stringify(r, null, 2) : formatPowerHealth(r));
    return 0;
  },
};
