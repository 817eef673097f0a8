/** `power N on|off|cycle` and `powerall on|off|cycle FIRST LAST` (or a node set). */
import { ClusterError } from "../../../shared/errors.ts";
import { safeParse } from "zod/mini";
import type { Job, PowerPlan } from "../../../shared/schemas.ts";
import { PowerAction } from "../../../shared/wire_schemas.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import { type CliCommand, type CliContext, nodeIdArg } from "../command.ts";
import { followJob } from "../job_progress.ts";
import { confirmRunning, runningIn } from "../confirm.ts";
import { counted } from "../../../shared/plural.ts";

function action(text: string | undefined): PowerAction {
  const r = safeParse(PowerAction, text);
  if (!r.success) {
    throw new ClusterError("bad_request", `expected on, off or cycle, not "${text ?? ""}"`);
  }
  return r.data;
}

async function runPowerJob(ctx: CliContext, path: string, body: unknown): Promise<number> {
  const started = await ctx.api.post<Job>(`${path}?wait=false`, body);
  const job = await followJob(ctx, started);
  if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
  else if (job.state === "succeeded") ctx.out(`${job.summary}: done`);
  if (job.state !== "succeeded") {
    if (!ctx.json) ctx.err(`error: ${job.error ?? "job failed"}`);
    return 1;
  }
  return 0;
}

/** Takes `--supervise` out of the arguments. */
function superviseFlag(args: string[]): { rest: string[]; supervise?: true } {
  const rest = args.filter((a) => a !== "--supervise");
  return rest.length < args.length ? { rest, supervise: true } : { rest };
}

/** Asks before an off or cycle of the running nodes among `set`; true to go on. */
async function confirmSwitch(
  ctx: CliContext,
  verb: string,
  state: PowerAction,
  set: string,
): Promise<boolean> {
  if (state === "on") return true; // switching on never asks
  const running = await runningIn(ctx, set);
  return await confirmRunning(ctx, verb, state === "off" ? "switch off" : "power-cycle", running);
}

const SUPERVISE = "supervise the boots it starts: power-cycle a stalled boot, then quarantine";
const CONFIRM_HELP =
  "Switching off or cycling running nodes asks first on a terminal (--yes skips " +
  "the question);\nwithout a terminal (a script, a pipe) it needs --yes or CM_ASSUME_YES=1 and is " +
  "refused (exit 2)\notherwise. Switching on never asks.";

/** `cm power N on|off|cycle [--supervise]` */
export const powerCommand: CliCommand = {
  name: "power",
  usage: "power N on|off|cycle [--supervise]",
  summary: "switch one node (--supervise: power-cycle a stalled boot, then quarantine)",
  words: ["on", "off", "cycle"],
  flags: { "--supervise": SUPERVISE },
  help: CONFIRM_HELP,
  async run(ctx) {
    const { rest, supervise } = superviseFlag(ctx.args);
    if (rest.length !== 2) {
      throw new ClusterError("bad_request", `usage: ${powerCommand.usage}`);
    }
    const [node, text] = rest;
    const state = action(text);
    nodeIdArg(node);
    if (!await confirmSwitch(ctx, "power", state, node)) return 1;
    return await runPowerJob(ctx, `/nodes/${encodeURIComponent(node)}/power`, {
      state,
      ...(supervise ? { supervise } : {}),
    });
  },
};

/** `+1.2 s`, right-aligned in the plan's first column. */
function at(ms: number): string {
  return `+${(ms / 1000).toFixed(1)} s`.padStart(8);
}

/** The dry run of a bulk switch: the inrush schedule, window by window. */
export function formatPowerPlan(p: PowerPlan): string {
  const l = p.limits;
  const lines = [
    `dry run: powerall ${p.action} ${formatNodeSet(p.nodes)} — nothing is switched`,
    `inrush limits: ${l.perBus} per BitBar and ${l.perStep} per module in any ${l.stepMs} ms`,
  ];
  if (p.skipped.length) lines.push(`skipped (quarantined): ${formatNodeSet(p.skipped)}`);
  // A switch-on leaves rails that are on alone: say so, rather than leave them out unmentioned.
  const switched = new Set(p.windows.flatMap((w) => w.nodes));
  const alreadyOn = p.action === "on" ? p.nodes.filter((n) => !switched.has(n)) : [];
  if (alreadyOn.length) {
    lines.push(`already on, left as they are: ${formatNodeSet(alreadyOn)}`);
  }
  if (p.off.length) {
    lines.push(`${at(0)}  off  ${formatNodeSet(p.off).padEnd(40)} all at once`);
  }
  p.windows.forEach((w, i) => {
    lines.push(
      `${at(w.atMs)}  on   ${formatNodeSet(w.nodes).padEnd(40)}` +
        ` window ${i + 1}: ${counted(w.nodes.length, "node")} on ${
          w.buses.length === 1 ? "BitBar" : "BitBars"
        } ${formatNodeSet(w.buses)}`,
    );
  });
  if (p.windows.length) {
    const last = p.windows[p.windows.length - 1].atMs;
    lines.push(
      `${counted(p.windows.reduce((s, w) => s + w.nodes.length, 0), "rail")} on in ${
        counted(p.windows.length, "window")
      }, the last at +${(last / 1000).toFixed(1)} s`,
    );
  } else if (p.action !== "off") lines.push("every rail is already on: nothing to switch on");
  return lines.join("\n");
}

/** `cm powerall on|off|cycle FIRST LAST` or `cm powerall on|off|cycle 1-16,23,30-60` */
export const powerallCommand: CliCommand = {
  name: "powerall",
  usage:
    "powerall on|off|cycle FIRST LAST | powerall on|off|cycle SET (e.g. 1-16,23,30-60) [--supervise] [--dry-run]",
  summary:
    "switch a range or set of nodes, staggered per bus (quarantined nodes are skipped); --dry-run prints the inrush schedule",
  words: ["on", "off", "cycle"],
  flags: {
    "--supervise": SUPERVISE,
    "--dry-run": "print the inrush schedule (which rails switch when); switch nothing",
  },
  help: CONFIRM_HELP,
  async run(ctx) {
    const { rest: flagless, supervise } = superviseFlag(ctx.args);
    const dryRun = flagless.includes("--dry-run");
    const [text, ...rest] = flagless.filter((a) => a !== "--dry-run");
    if (rest.length < 1 || rest.length > 2) {
      throw new ClusterError("bad_request", `usage: ${powerallCommand.usage}`);
    }
    const state = action(text);
    if (dryRun) {
      const plan = await ctx.api.post<PowerPlan>("/power/plan", { state, nodes: rest.join(" ") });
      ctx.out(ctx.json ? JSON.stringify(plan, null, 2) : formatPowerPlan(plan));
      return 0;
    }
    if (!await confirmSwitch(ctx, "powerall", state, rest.join(" "))) return 1;
    return await runPowerJob(ctx, "/power", {
      state,
      nodes: rest.join(" "),
      ...(supervise ? { supervise } : {}),
    });
  },
};
