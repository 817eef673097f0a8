// What the page knows, shared by its modules.

/**
 * `base` with a node update's `changes` applied (a new object): plain objects merge member by
 * member, anything else replaces (the rule of shared/node_update.ts).
 */
export function applyChanges(base, changes) {
  const plain = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!plain(base) || !plain(changes)) return changes;
  const out = { ...base };
  for (const key in changes) out[key] = applyChanges(base[key], changes[key]);
  return out;
}

/** node id → NodeStatus: /api/v1/nodes as read when the stream opened, then node updates. */
export const nodes = new Map();

/**
 * node id → { stage, attempt, stalledBefore } of its current boot, from boot_stage events and
 * boot_timeout (the stage it did not reach in time).
 */
export const stages = new Map();

/** Selected node ids (bulk power). */
export const selected = new Set();

/** The view: search text, filter, whether taps select, the module. */
export const view = { query: "", filter: "all", selecting: false, module: null };

/** The model a bay holds: what its agent reports, else what the layout expects. */
export function modelOf(n) {
  const reported = n.agent?.identity?.model;
  return reported && reported !== "unknown" ? reported : n.expectedModel;
}

/** The mode the bay LED shows: the agent's report while the node is up, else dark. */
export function ledModeOf(n) {
  if (n.power.actual !== "on" || !n.agent) return "off";
  if (n.lifecycle === "lost") return "unknown";
  return n.agent.led;
}

/** A boot stage in words: `dhcp_ack` → `dhcp ack`. */
export function stageWords(stage) {
  return stage.replaceAll("_", " ");
}

/** Lifecycle and, while booting or stopped in a boot, the stage: `booting · dhcp ack`. */
export function stateText(n) {
  if (n.quarantine) return `${n.lifecycle} · stopped at ${stageWords(n.quarantine.stage)}`;
  const s = stages.get(n.id);
  if (s && n.power.actual === "on" && (n.lifecycle === "booting" || n.lifecycle === "powering")) {
    return `${n.lifecycle} · ${
      s.stalledBefore ? `stalled before ${stageWords(s.stalledBefore)}` : stageWords(s.stage)
    }`;
  }
  return n.lifecycle;
}
