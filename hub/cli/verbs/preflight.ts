/** `preflight`: the hub's readiness to netboot, check by check, with a fix for each problem. */
import type { PreflightReport } from "../../../shared/preflight_schemas.ts";
import type { CliCommand } from "../command.ts";

/** The report as lines: one per check, its fix under it. */
export function formatPreflight(r: PreflightReport): string {
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(5)} ${c.name.padEnd(12)} ${c.detail}`);
    if (c.hint) lines.push(`${"".padEnd(18)}fix: ${c.hint}`);
  }
  lines.push(r.summary);
  return lines.join("\n");
}

/** `cm preflight` */
export const preflightCommand: CliCommand = {
  name: "preflight",
  usage: "preflight",
  summary: "check the hub can netboot: rogue DHCP, TFTP files, NFS, NAT, address, clock",
  flags: {},
  async run(ctx) {
    const r = await ctx.api.get<PreflightReport>("/preflight");
    ctx.out(ctx.json ? JSON.stringify(r, null, 2) : formatPreflight(r));
    return r.ok ? 0 : 1;
  },
};
