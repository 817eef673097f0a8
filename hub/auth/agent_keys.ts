/**
 * Per-node agent credentials: node N's key is `nodeNN.` + HMAC-SHA256(agent secret, "cluster-agent
 * node N") in URL-safe base64 (format in shared/agent_key.ts), so a key names the one node it may
 * report for. The agent secret never leaves the hub's data directory; each node gets only its own
 * key (through its NFS overlay, or `cm agent-key N` for an SD-card node). The old shared key is
 * still accepted, counted, until the hub runs with `--no-shared-agent-key`.
 */
import { createHmac } from "node:crypto";
import { agentKeyPrefix } from "../../shared/agent_key.ts";
import type { NodeMap } from "../../shared/node_map.ts";
import { secretMatches } from "./secrets.ts";

/** Who a presented agent token speaks for. */
export type AgentCredential =
  | { kind: "node"; node: number }
  | { kind: "shared" }
  | { kind: "admin" };

/** Why a heartbeat was refused (the `reason` label of the refusal counter). */
export type AgentRefusal =
  | "bad_key"
  | "shared_key_off"
  | "wrong_node"
  | "wrong_mac"
  | "wrong_address"
  | "bay_off";

/** Counters behind `cluster_agent_*` in /metrics. */
export class AgentAuthCounters {
  readonly #refused = new Map<AgentRefusal, number>();
  #shared = 0;

  /** Counts one refused heartbeat. */
  refused(reason: AgentRefusal): void {
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
  }

  /** Counts one heartbeat accepted with the shared key. */
  sharedKeyUsed(): void {
    this.#shared++;
  }

  /** Refusals by reason, since the hub started. */
  refusals(): ReadonlyMap<AgentRefusal, number> {
    return this.#refused;
  }

  /** Heartbeats accepted with the shared key, since the hub started. */
  get sharedKeyHeartbeats(): number {
    return this.#shared;
  }
}

/** What the hub checks agent tokens with. */
export interface AgentKeysOptions {
  /** The secret per-node keys are derived from (DATA/agent-secret). */
  secret: string;
  /** The module: one key per bay. */
  map: NodeMap;
  /** The old shared key (DATA/agent-key). */
  sharedKey: string;
  /** Whether the shared key is still accepted (false with --no-shared-agent-key). */
  sharedKeyAllowed: boolean;
}

/** Derives node `node`'s agent key from `secret`. */
export function deriveAgentKey(secret: string, node: number): string {
  const mac = createHmac("sha256", secret).update(`cluster-agent node ${node}`).digest("base64url");
  return agentKeyPrefix(node) + mac;
}

/** Derives, holds and recognises agent keys. */
export class AgentKeys {
  /** Node N's key by N, derived once (a heartbeat then costs one compare). */
  readonly #keys: Map<number, string>;
  readonly #shared: string;
  readonly sharedKeyAllowed: boolean;

  constructor(o: AgentKeysOptions) {
    this.#keys = new Map(o.map.bays.map((b) => [b.id, deriveAgentKey(o.secret, b.id)]));
    this.#shared = o.sharedKey;
    this.sharedKeyAllowed = o.sharedKeyAllowed;
  }

  /** Node `node`'s key. */
  keyFor(node: number): string {
    const key = this.#keys.get(node);
    if (key === undefined) throw new RangeError(`no node ${node}`);
    return key;
  }

  /**
   * Which credential `token` is: a node's own key, the shared key (whether or not it is still
   * allowed: the caller refuses it with a reason), or null for anything else.
   */
  identify(token: string): AgentCredential | null {
    // "nodeNN." picks the one key to compare with; the compare itself is constant-time.
    if (token.startsWith("node") && token[6] === ".") {
      const node = Number(token.slice(4, 6));
      const key = this.#keys.get(node);
      if (key !== undefined && secretMatches(token, key)) return { kind: "node", node };
    }
    if (secretMatches(token, this.#shared)) return { kind: "shared" };
    return null;
  }
}
