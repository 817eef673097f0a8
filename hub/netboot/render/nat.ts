/**
 * NAT from the cluster subnet to the uplink: our own iptables chains plus ip_forward.
 * Everything we add lives in chains of our own ({@link NAT_CHAINS}), loaded with
 * `iptables-restore --noflush`, so the admin's, ufw's and Docker's rules are left alone;
 * the supervisor adds one jump to each chain from its built-in chain when it is missing.
 */
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { generatedHeader } from "./dnsmasq.ts";

/** Our chains and the built-in chain that jumps to each (inserted first, once). */
export const NAT_CHAINS = [
  { table: "filter", parent: "FORWARD", chain: "CM-FORWARD" },
  { table: "nat", parent: "POSTROUTING", chain: "CM-POSTROUTING" },
] as const;

/**
 * `/etc/iptables/cluster-module.rules.v4` (iptables-save format, for
 * `iptables-restore --noflush`): declares and flushes only our chains, then fills them.
 * Forwarding within the cluster interface (bridged traffic under br_netfilter), out to the
 * uplink, and replies back in are accepted; anything else forwarded to or from the cluster
 * interface is dropped; other traffic returns to the built-in chain untouched.
 */
export function renderRulesV4(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const subnet = `${map.config.subnetPrefix}.0/24`;
  const lan = s.clusterInterface;
  const wan = s.uplinkInterface;
  return [
    generatedHeader(),
    "# Load with: iptables-restore --noflush FILE (the hub does, at start and on change),",
    "# then jump to the chains once: iptables -I FORWARD 1 -j CM-FORWARD and",
    "# iptables -t nat -I POSTROUTING 1 -j CM-POSTROUTING. No other chain is touched.",
    "*nat",
    ":CM-POSTROUTING - [0:0]",
    "-F CM-POSTROUTING",
    `-A CM-POSTROUTING -s ${subnet} -o ${wan} -j MASQUERADE`,
    "COMMIT",
    "*filter",
    ":CM-FORWARD - [0:0]",
    "-F CM-FORWARD",
    `-A CM-FORWARD -i ${lan} -o ${lan} -j ACCEPT`,
    `-A CM-FORWARD -i ${lan} -o ${wan} -s ${subnet} -j ACCEPT`,
    `-A CM-FORWARD -i ${wan} -o ${lan} -d ${subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A CM-FORWARD -i ${lan} -j DROP`,
    `-A CM-FORWARD -o ${lan} -j DROP`,
    "COMMIT",
    "",
  ].join("\n");
}

/** The sysctl drop-in enabling IPv4 forwarding. */
export function renderSysctl(): string {
  return `${generatedHeader()}\nnet.ipv4.ip_forward=1\n`;
}
