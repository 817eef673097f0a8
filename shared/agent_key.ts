/**
 * The per-node agent key's format, shared by the hub (which derives and checks it) and both
 * agents (which take their node id from it): `nodeNN.` followed by 43 characters of URL-safe
 * base64, e.g. `node07.Xq…`. The part after the dot is HMAC-SHA256(hub secret, "cluster-agent
 * node N"), derived on the hub only (hub/auth/agent_keys.ts). A key of any other shape is the
 * old shared key, which speaks for every node.
 */

import { MAX_NODE_ID, nodeHostname } from "./node_map.ts";

const PER_NODE = /^node(\d{2})\.[A-Za-z0-9_-]{43}$/;

/** The node a per-node agent key belongs to, or undefined for any other text. */
export function nodeOfAgentKey(key: string): number | undefined {
  const m = PER_NODE.exec(key.trim());
  if (!m) return undefined;
  const node = Number(m[1]);
  return node >= 1 && node <= MAX_NODE_ID ? node : undefined;
}

/** `nodeNN.` for node `node`: the prefix of its key. */
export function agentKeyPrefix(node: number): string {
  return `${nodeHostname(node)}.`;
}
