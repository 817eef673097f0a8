/** Health checks of the parts of netboot that are not our child process: NFS and NAT. */
import type { NodeMap } from "../../../shared/node_map.ts";
import { readSystemText } from "../../../shared/system_access.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import type { ProcessRunner } from "./process_runner.ts";
import type { ServiceStatus } from "./supervised_process.ts";

/** Result of one check. */
export interface CheckResult {
  name: string;
  state: "ok" | "degraded" | "skipped";
  /** One line for people. */
  detail: string;
  /** Each sub-check by name. */
  checks: Record<string, boolean>;
}

/** Reads a small text file, null when it cannot be read. */
export type ReadText = (path: string) => Promise<string | null>;

/**
 * The real {@link ReadText}. Deno's refusal of /proc (a hub without `--allow-all`) is thrown
 * as a SystemAccessError, not read as "NFS server stopped" or "forwarding off".
 */
export const readTextOrNull: ReadText = async (path) => (await readSystemText(path)) ?? null;

function result(name: string, checks: Record<string, boolean>, hints: Record<string, string>) {
  const failed = Object.keys(checks).filter((k) => !checks[k]);
  return {
    name,
    state: failed.length === 0 ? "ok" : "degraded",
    detail: failed.length === 0 ? "all checks passed" : failed.map((k) => hints[k]).join("; "),
    checks,
  } satisfies CheckResult;
}

/** NFS: exportfs installed, the kernel server running, and our shared root exported. */
export async function checkNfs(
  s: NetbootSettings,
  runner: ProcessRunner,
  readText: ReadText,
): Promise<CheckResult> {
  const ex = await runner.run("exportfs", ["-v"]);
  const threads = Number((await readText("/proc/fs/nfsd/threads"))?.trim() ?? "0");
  const exported = ex.code === 0 &&
    ex.stdout.split("\n").some((l) => l.trim().split(/\s+/)[0] === s.paths.nfsRoot);
  return result("nfs", {
    exportfs: ex.code !== 127,
    server: threads > 0,
    rootExported: exported,
  }, {
    exportfs: "exportfs not found (apt-get install nfs-kernel-server)",
    server: "the NFS server is not running (systemctl start nfs-server)",
    rootExported: `${s.paths.nfsRoot} is not exported (cm netboot apply)`,
  });
}

/** RPC program number of the NFS MOUNT service (NFSv3 mounts go through it). */
const MOUNT_PROGRAM = "100005";

/**
 * NFS by nfs-ganesha: rpcbind and ganesha (the hub's children) running, and the MOUNT service
 * answering on the hub's cluster address (`rpcinfo -T tcp HUB 100005 3`), which is what an
 * NFSv3 root mount asks first.
 */
export async function checkGanesha(
  map: NodeMap,
  rpcbind: ServiceStatus,
  ganesha: ServiceStatus,
  runner: ProcessRunner,
): Promise<CheckResult> {
  const mount = await runner.run("rpcinfo", ["-T", "tcp", map.hub.ip, MOUNT_PROGRAM, "3"]);
  return result("nfs", {
    rpcbind: rpcbind.state === "running",
    ganesha: ganesha.state === "running",
    mountService: mount.code === 0,
  }, {
    rpcbind: `rpcbind is ${rpcbind.state}${rpcbind.lastError ? ` (${rpcbind.lastError})` : ""}`,
    ganesha: `nfs-ganesha is ${ganesha.state}${ganesha.lastError ? ` (${ganesha.lastError})` : ""}`,
    mountService: `the NFS mount service does not answer on ${map.hub.ip} (rpcinfo: ${
      (mount.stderr || mount.stdout).trim().slice(0, 200)
    })`,
  });
}

/** NAT: IPv4 forwarding on, our MASQUERADE rule loaded, and both our chains jumped to. */
export async function checkNat(
  map: NodeMap,
  s: NetbootSettings,
  runner: ProcessRunner,
  readText: ReadText,
): Promise<CheckResult> {
  const fwd = (await readText("/proc/sys/net/ipv4/ip_forward"))?.trim() === "1";
  const nat = await runner.run("iptables", ["-t", "nat", "-S"]);
  const filter = await runner.run("iptables", ["-t", "filter", "-S", "FORWARD"]);
  const has = (r: { code: number; stdout: string }, rule: string) =>
    r.code === 0 && r.stdout.split("\n").some((l) => l.trim() === rule);
  const masq =
    `-A CM-POSTROUTING -s ${map.config.subnetPrefix}.0/24 -o ${s.uplinkInterface} -j MASQUERADE`;
  return result("nat", {
    ipForward: fwd,
    iptables: nat.code !== 127,
    masquerade: has(nat, masq),
    jumps: has(nat, "-A POSTROUTING -j CM-POSTROUTING") && has(filter, "-A FORWARD -j CM-FORWARD"),
  }, {
    ipForward: "net.ipv4.ip_forward is off (cm netboot apply)",
    iptables: "iptables not found (apt-get install iptables)",
    masquerade:
      `no MASQUERADE rule for the cluster subnet to ${s.uplinkInterface} (cm netboot apply)`,
    jumps: "POSTROUTING or FORWARD does not jump to our chains (cm netboot apply)",
  });
}
