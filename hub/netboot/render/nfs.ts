/**
 * NFS exports: the shared root read-only to the subnet, each overlay read-write to its node.
 * Two servers: the kernel's (an exports file for `exportfs -ra`) and nfs-ganesha (its own
 * configuration with the same exports), chosen by the `nfsServer` setting.
 *
 * Root squashing: the shared root is exported with `root_squash`. Any host on the subnet can
 * mount it, so a file only root may read there (a key, a password hash) would be readable by
 * anyone who is root on their own machine; squashed, such a host reads what every user may.
 * Nothing on a node needs root's access to the read-only root (its secrets, the agent key
 * included, come from its own overlay). Each overlay keeps `no_root_squash`: the node's root
 * writes its own state there (/var/lib, /home), as root.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { generatedHeader } from "./dnsmasq.ts";
import { overlayBays, overlayPath } from "./overlays.ts";

const OPTIONS = "sync,no_subtree_check";

/** Fixed ports of nfs-ganesha's services (a firewall can name them). */
export const GANESHA_PORTS = { nfs: 2049, mount: 20048 } as const;

/** The exports file (`/etc/exports` syntax) for `exportfs -ra`. */
export function renderExports(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const subnet = `${map.config.subnetPrefix}.0/24`;
  const lines = [
    generatedHeader(),
    "# Shared client image, read-only for every node.",
    `${s.paths.nfsRoot} ${subnet}(ro,${OPTIONS},root_squash)`,
  ];
  if (s.overlays) {
    lines.push("# Per-node writable state, each read-write to its own node only.");
    for (const bay of overlayBays(map)) {
      lines.push(
        `${overlayPath(map, s.paths.overlayDir, bay.id)} ${bay.ip}(rw,${OPTIONS},no_root_squash)`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * nfs-ganesha's configuration: NFSv3 and v4 on the hub's cluster address, no lock manager
 * (nodes mount with `nolock`), and the same exports as {@link renderExports}: the root
 * read-only to the subnet with root squashed, each overlay read-write to its own node with
 * root not squashed.
 */
export function renderGaneshaConf(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const exp = (id: number, path: string, clients: string, access: "RO" | "RW") => [
    "EXPORT {",
    `    Export_Id = ${id};`,
    `    Path = ${path};`,
    `    Pseudo = ${path};`,
    "    Access_Type = None;",
    `    Squash = ${access === "RO" ? "Root_Squash" : "No_Root_Squash"};`,
    "    SecType = sys;",
    "    Protocols = 3, 4;",
    "    Transports = TCP, UDP;",
    `    CLIENT { Clients = ${clients}; Access_Type = ${access}; }`,
    "    FSAL { Name = VFS; }",
    "}",
  ];
  const lines = [
    generatedHeader(),
    "NFS_CORE_PARAM {",
    `    Bind_addr = ${map.hub.ip};`,
    "    Protocols = 3, 4;",
    `    NFS_Port = ${GANESHA_PORTS.nfs};`,
    `    MNT_Port = ${GANESHA_PORTS.mount};`,
    "    Enable_NLM = false;",
    "    Enable_RQUOTA = false;",
    "}",
    "NFSV4 {",
    "    Graceless = true;",
    `    RecoveryRoot = ${s.paths.ganeshaStateDir};`,
    "}",
    "NFS_KRB5 { Active_krb5 = false; }",
    "# Shared client image, read-only for every node.",
    ...exp(1, s.paths.nfsRoot, `${map.config.subnetPrefix}.0/24`, "RO"),
  ];
  if (s.overlays) {
    lines.push("# Per-node writable state, each read-write to its own node only.");
    for (const bay of overlayBays(map)) {
      lines.push(...exp(100 + bay.id, overlayPath(map, s.paths.overlayDir, bay.id), bay.ip, "RW"));
    }
  }
  return lines.join("\n") + "\n";
}
