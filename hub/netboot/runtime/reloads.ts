/**
 * Reloads: how written config files reach the running services. Each changed file owes its
 * reload (SIGHUP for dnsmasq's hosts files, a dnsmasq restart only when dnsmasq.conf changed,
 * `exportfs -ra`, a ganesha restart, `iptables-restore`, `sysctl -p`); an owed reload stays
 * owed until it succeeds.
 */
import type { ApplyPlan, ApplyResult } from "../../../shared/netboot_schemas.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import type { ReloadAction } from "../render/all.ts";
import { NAT_CHAINS } from "../render/nat.ts";
import type { ProcessRunner } from "./process_runner.ts";
import type { NetbootServices } from "./netboot_services.ts";

/** Every reload, in the order they run. */
export const RELOAD_ACTIONS: readonly ReloadAction[] = [
  "dnsmasq-restart",
  "dnsmasq-hup",
  "exportfs",
  "ganesha-restart",
  "iptables",
  "sysctl",
];

/**
 * What a live supervisor owes when it starts: every reload of its NFS server's kind, as the
 * files on disk may be newer than what the services run.
 */
export function everyReload(settings: NetbootSettings): Set<ReloadAction> {
  const other = settings.nfsServer === "kernel" ? "ganesha-restart" : "exportfs";
  return new Set(RELOAD_ACTIONS.filter((a) => a !== other));
}

/** The reloads `owed` would run, in order, each with what it does (for a plan). */
export function plannedReloads(
  owed: ReadonlySet<ReloadAction>,
  settings: NetbootSettings,
): ApplyPlan["reloads"] {
  const how: Record<ReloadAction, string> = {
    "dnsmasq-restart": "restart dnsmasq (dnsmasq.conf changed)",
    "dnsmasq-hup": "SIGHUP dnsmasq: it re-reads dhcp-hosts and hosts",
    exportfs: "exportfs -ra",
    "ganesha-restart": "restart nfs-ganesha (ganesha.conf changed)",
    iptables:
      `iptables-restore --noflush ${settings.paths.rulesV4File}, then the jumps to our chains`,
    sysctl: `sysctl -p ${settings.paths.sysctlFile}`,
    none: "",
  };
  const runs = RELOAD_ACTIONS.filter((a) =>
    owed.has(a) && !(a === "dnsmasq-hup" && owed.has("dnsmasq-restart"))
  );
  return runs.map((action) => ({ action, detail: how[action] }));
}

/**
 * Runs every reload in `owed`, deleting each that succeeds. Until the services started,
 * nothing runs dnsmasq or ganesha (starting them reads the fresh files); a failed dnsmasq is
 * restarted.
 */
export async function runOwedReloads(
  owed: Set<ReloadAction>,
  services: NetbootServices,
  runner: ProcessRunner,
  settings: NetbootSettings,
): Promise<ApplyResult["reloads"]> {
  const out: ApplyResult["reloads"] = [];
  const run = async (action: ReloadAction, cmd: string, args: string[]) => {
    const r = await runner.run(cmd, args);
    if (r.code === 0) owed.delete(action);
    out.push({
      action,
      ok: r.code === 0,
      detail: r.code === 0
        ? `${cmd} ${args.join(" ")}`
        : `${cmd} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
    });
  };
  const started = services.started;
  const failed = services.dnsmasqStatus().state === "failed";
  if (started && (owed.has("dnsmasq-restart") || failed)) {
    await services.restartDnsmasq();
    owed.delete("dnsmasq-restart");
    owed.delete("dnsmasq-hup"); // a fresh process reads every file
    out.push({
      action: "dnsmasq-restart",
      ok: true,
      detail: failed ? "dnsmasq had failed: restarted" : "dnsmasq.conf changed: restarted",
    });
  } else if (started && owed.has("dnsmasq-hup")) {
    const ok = services.hupDnsmasq();
    if (ok) owed.delete("dnsmasq-hup");
    out.push({
      action: "dnsmasq-hup",
      ok,
      detail: ok ? "SIGHUP: dnsmasq re-reads dhcp-hosts and hosts" : "dnsmasq is not running",
    });
  }
  if (owed.has("exportfs")) await run("exportfs", "exportfs", ["-ra"]);
  if (started && services.runsGanesha && owed.has("ganesha-restart")) {
    await services.restartGanesha();
    owed.delete("ganesha-restart");
    out.push({
      action: "ganesha-restart",
      ok: true,
      detail: "ganesha.conf changed: nfs-ganesha restarted",
    });
  }
  if (owed.has("iptables")) {
    const r = await loadNatRules(runner, settings.paths.rulesV4File);
    if (r.ok) owed.delete("iptables");
    out.push(r);
  }
  if (owed.has("sysctl")) await run("sysctl", "sysctl", ["-p", settings.paths.sysctlFile]);
  return out;
}

/**
 * Loads our iptables chains from `file` without flushing anyone else's rules, then inserts a
 * jump to each chain from its built-in chain unless one is there (`-C`), so reloads never pile
 * up duplicate jumps. `ok` only when every step succeeded.
 */
async function loadNatRules(
  runner: ProcessRunner,
  file: string,
): Promise<ApplyResult["reloads"][number]> {
  const fail = (what: string, r: { code: number; stdout: string; stderr: string }) => ({
    action: "iptables",
    ok: false,
    detail: `${what} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
  });
  const restore = await runner.run("iptables-restore", ["--noflush", file]);
  if (restore.code !== 0) return fail("iptables-restore", restore);
  const inserted: string[] = [];
  for (const { table, parent, chain } of NAT_CHAINS) {
    const jump = ["-t", table, parent, "-j", chain];
    const check = await runner.run("iptables", ["-t", table, "-C", parent, "-j", chain]);
    if (check.code === 0) continue;
    if (check.code !== 1) return fail(`iptables ${jump.join(" ")} check`, check);
    const add = await runner.run("iptables", ["-t", table, "-I", parent, "1", "-j", chain]);
    if (add.code !== 0) return fail(`iptables insert of ${parent} -j ${chain}`, add);
    inserted.push(`${parent} -j ${chain}`);
  }
  return {
    action: "iptables",
    ok: true,
    detail: `iptables-restore --noflush ${file}` +
      (inserted.length ? `; inserted ${inserted.join(", ")}` : ""),
  };
}
