/** NAT from the cluster subnet to the uplink: iptables-persistent rules.v4 plus ip_forward. */
import type { NodeMap } from "../../shared/node_map.ts";
import type { NetbootSettings } from "./settings.ts";
import { validateSettings } from "./settings.ts";
import { generatedHeader } from "./render_dnsmasq.ts";

/** `/etc/iptables/rules.v4` (iptables-save format, loaded with `iptables-restore`). */
export function renderRulesV4(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const subnet = `${map.config.subnetPrefix}.0/24`;
  const lan = s.clusterInterface;
  const wan = s.uplinkInterface;
  return [
    generatedHeader(),
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    `-A POSTROUTING -s ${subnet} -o ${wan} -j MASQUERADE`,
    "COMMIT",
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD DROP [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    `-A FORWARD -i ${lan} -o ${wan} -s ${subnet} -j ACCEPT`,
    `-A FORWARD -i ${wan} -o ${lan} -d ${subnet} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    "COMMIT",
    "",
  ].join("\n");
}

/** The sysctl drop-in enabling IPv4 forwarding. */
export function renderSysctl(): string {
  return `${generatedHeader()}\nnet.ipv4.ip_forward=1\n`;
}
