/** CLI verbs of the netboot services: `netboot render|status|apply`, `macs`, `node reset N`. */
import { type CliCommand, type CliContext, nodeIdArg } from "../command.ts";
import { ClusterError } from "../../../shared/errors.ts";
import type { Job, NodeStatus } from "../../../shared/schemas.ts";
import { followJob } from "../job_progress.ts";
import { confirmRunning, runningIn } from "../confirm.ts";
import type {
  ApplyPlan,
  ApplyResult,
  MacsResponse,
  NetbootStatus,
  RenderResponse,
  ResetResponse,
} from "../../../shared/netboot_schemas.ts";

function printApply(ctx: CliContext, r: ApplyResult): void {
  ctx.out(`${r.mode} mode${r.dir ? `: rendered into ${r.dir}` : ""}`);
  ctx.out(`written ${r.written.length}, unchanged ${r.unchanged.length}`);
  for (const w of r.written) ctx.out(`  wrote ${w}`);
  for (const x of r.reloads) ctx.out(`  ${x.ok ? "ok  " : "FAIL"} ${x.action}: ${x.detail}`);
}

async function render(ctx: CliContext): Promise<number> {
  const write = ctx.args.includes("--write");
  const r = await ctx.api.post<RenderResponse>("/netboot/render", { write });
  if (ctx.json) {
    ctx.out(JSON.stringify(r, null, 2));
    return 0;
  }
  const wanted = ctx.args.filter((a) => !a.startsWith("--"));
  const matches = (name: string) => wanted.some((w) => name === w || name.endsWith(`/${w}`));
  const unknown = wanted.filter((w) =>
    !r.files.some((f) => f.name === w || f.name.endsWith(`/${w}`))
  );
  if (unknown.length) {
    throw new ClusterError(
      "bad_request",
      `no rendered file named ${unknown.join(", ")}; the files are: ${
        r.files.map((f) => f.name).join(", ")
      }`,
    );
  }
  for (const f of r.files) {
    if (wanted.length && !matches(f.name)) continue;
    ctx.out(`==> ${f.name}${f.path ? ` (${f.path}, reload: ${f.reload})` : ""}`);
    ctx.out(f.content.trimEnd());
  }
  if (r.applied) printApply(ctx, r.applied);
  return 0;
}

async function status(ctx: CliContext): Promise<number> {
  const s = await ctx.api.get<NetbootStatus>("/netboot/status");
  if (ctx.json) {
    ctx.out(JSON.stringify(s, null, 2));
    return 0;
  }
  const d = s.dnsmasq;
  ctx.out(`mode      ${s.mode} (${s.modeReason})`);
  ctx.out(
    `dnsmasq   ${d.state}${d.pid ? ` pid ${d.pid}` : ""}, restarts ${d.restarts}` +
      (d.lastError ? `, last error: ${d.lastError}` : ""),
  );
  ctx.out(`nfs       ${s.nfs.state}: ${s.nfs.detail}`);
  ctx.out(`nat       ${s.nat.state}: ${s.nat.detail}`);
  const l = s.learning;
  ctx.out(
    `learning  range ${l.range ?? "off"}, ${l.learned} learned, ${l.unknownMacs} unknown` +
      (l.waitingFor ? `, waiting for node ${l.waitingFor}` : ""),
  );
  ctx.out(`overlays  ${s.overlays ? "on" : "off"}`);
  return s.dnsmasq.state === "failed" ? 1 : 0;
}

/** `netboot apply --dry-run`: the unified diff of every file and the reloads; nothing changes. */
async function planApply(ctx: CliContext): Promise<number> {
  const p = await ctx.api.post<ApplyPlan>("/netboot/apply?dry_run=true", {});
  if (ctx.json) {
    ctx.out(JSON.stringify(p, null, 2));
    return 0;
  }
  const changed = p.files.filter((f) => f.change !== "unchanged");
  for (const f of changed) ctx.out(f.diff.trimEnd());
  ctx.out(
    `dry run (${p.mode} mode): ${changed.length} of ${p.files.length} files would change` +
      (changed.length ? ` (${changed.map((f) => f.name).join(", ")})` : ""),
  );
  if (p.reloads.length === 0) ctx.out("no reloads would run");
  for (const r of p.reloads) ctx.out(`would reload: ${r.action}: ${r.detail}`);
  ctx.out("nothing was written or reloaded");
  return 0;
}

async function apply(ctx: CliContext): Promise<number> {
  const extra = ctx.args.filter((a) => a !== "--dry-run");
  if (extra.length) throw new ClusterError("bad_request", "usage: netboot apply [--dry-run]");
  if (ctx.args.includes("--dry-run")) return await planApply(ctx);
  const r = await ctx.api.post<ApplyResult>("/netboot/apply", {});
  if (ctx.json) ctx.out(JSON.stringify(r, null, 2));
  else printApply(ctx, r);
  return r.reloads.every((x) => x.ok) ? 0 : 1;
}

/** `netboot render [FILE…] [--write] | status | apply` */
export const netbootCommand: CliCommand = {
  name: "netboot",
  usage: "netboot render [FILE...] [--write] | status | apply [--dry-run]",
  summary: "show or apply the DHCP/DNS/TFTP, NFS and NAT configuration of the hub",
  words: ["render", "status", "apply"],
  flags: {
    "--write": "render: also write the files (as apply does)",
    "--dry-run": "apply: show the diff of every file and the reloads; change nothing",
  },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    const subCtx = { ...ctx, args: rest };
    if (sub === "render") return await render(subCtx);
    if (sub === "status") return await status(subCtx);
    if (sub === "apply") return await apply(subCtx);
    throw new ClusterError(
      "bad_request",
      sub === undefined
        ? `usage: ${netbootCommand.usage}`
        : `unknown netboot subcommand "${sub}": use ${netbootCommand.usage}`,
    );
  },
};

/** `macs`: the learned MAC table and unknown MACs seen. */
export const macsCommand: CliCommand = {
  name: "macs",
  usage: "macs [learn [SET] | forget N]",
  summary: "learned MACs and unknown ones; learn: power bays one at a time to learn theirs",
  words: ["learn", "forget"],
  flags: {},
  help: "learn switches the bays of SET that have no MAC off, then on one at a time, and learns\n" +
    "each one's MAC from its DHCP request; every bay ends with the power it had before\n" +
    "(bays that were on boot again). It asks before switching running nodes off (--yes).",
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub === "learn" && rest.length <= 2) {
      const set = rest.length ? rest.join(" ") : undefined;
      const running = await runningIn(ctx, set, (n) => n.lan && n.mac === null);
      if (!await confirmRunning(ctx, "macs learn", "power-cycle", running)) return 1;
      const body = set !== undefined ? { nodes: set } : {};
      const job = await followJob(ctx, await ctx.api.post<Job>("/macs/learn", body));
      const result = job.result as { summary?: string } | undefined;
      ctx.out(
        ctx.json ? JSON.stringify(job, null, 2) : result?.summary ?? `${job.state}: ${job.error}`,
      );
      return job.state === "succeeded" ? 0 : 1;
    }
    if (sub === "forget" && rest.length === 1) {
      await ctx.api.request("DELETE", `/nodes/${encodeURIComponent(rest[0])}/mac`);
      ctx.out(`node ${rest[0]}: MAC forgotten; learn it again with: cm macs learn ${rest[0]}`);
      return 0;
    }
    if (ctx.args.length) throw new ClusterError("bad_request", `usage: ${macsCommand.usage}`);
    const r = await ctx.api.get<MacsResponse>("/macs");
    if (ctx.json) {
      ctx.out(JSON.stringify(r, null, 2));
      return 0;
    }
    ctx.out("NODE  HOSTNAME  IP           MAC");
    for (const m of r.macs) {
      ctx.out(`${String(m.node).padEnd(5)} ${m.hostname.padEnd(9)} ${m.ip.padEnd(12)} ${m.mac}`);
    }
    if (r.macs.length === 0) ctx.out("(no MACs learned yet)");
    for (const u of r.unknown) ctx.out(`unknown ${u.mac} at ${u.ip}: ${u.reason}`);
    if (r.waitingFor) ctx.out(`waiting to learn node ${r.waitingFor}`);
    return 0;
  },
};

/**
 * `node reset N [--force]`: resets a node's overlay to the base image; `node clear N` takes a
 * quarantined node back into bulk runs.
 */
export const nodeCommand: CliCommand = {
  name: "node",
  usage: "node reset N [--force] | node clear N",
  summary: "reset a node to the base image (clears its overlay); clear a quarantined node",
  words: ["reset", "clear"],
  flags: { "--force": "reset: also while the node is on" },
  async run(ctx) {
    const [sub, id, ...rest] = ctx.args;
    const extra = rest.filter((a) => a !== "--force" || sub !== "reset");
    if ((sub !== "reset" && sub !== "clear") || !id || extra.length) {
      throw new ClusterError("bad_request", `usage: ${nodeCommand.usage}`);
    }
    nodeIdArg(id);
    if (sub === "clear") {
      const n = await ctx.api.post<NodeStatus>(`/nodes/${id}/clear`);
      if (ctx.json) ctx.out(JSON.stringify(n, null, 2));
      else {ctx.out(
          `node ${n.id} cleared from quarantine (now ${n.lifecycle}); bulk runs include it again`,
        );}
      return 0;
    }
    const r = await ctx.api.post<ResetResponse>(`/nodes/${id}/reset`, {
      force: rest.includes("--force"),
    });
    if (ctx.json) ctx.out(JSON.stringify(r, null, 2));
    else {ctx.out(
        `node ${r.node} reset to the base image (${r.removed} entries removed from ${r.path})`,
      );}
    return 0;
  },
};

/** All verbs of this module, for the CLI main's list. */
export const netbootCliCommands: CliCommand[] = [netbootCommand, macsCommand, nodeCommand];
