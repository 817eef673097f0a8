/**
 * Node updates as data: the part of a node's status that changes (`NodeView`), the compact
 * difference between two views (`diffNodeView`) and how a difference is applied
 * (`applyNodeChanges`). The rule both follow: plain objects are compared and merged member
 * by member; any other value (null, a number, a string) is taken whole. Members are never
 * removed by an update.
 */
import type { NodeChanges, NodeStatus } from "./schemas.ts";

/** The members of a node's status that change; the rest are the bay's fixed facts. */
export type NodeView = Pick<
  NodeStatus,
  | "mac"
  | "enabled"
  | "power"
  | "lifecycle"
  | "ledRequested"
  | "lastHeartbeatAt"
  | "lastSeenAt"
  | "agent"
  | "quarantine"
>;

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The members of `next` that differ from `prev` (see the module comment); undefined: none. */
function diff(prev: unknown, next: unknown): unknown {
  if (prev === next) return undefined;
  if (!isPlain(prev) || !isPlain(next)) return next;
  let out: Plain | undefined;
  for (const key in next) {
    const d = diff(prev[key], next[key]);
    if (d !== undefined) (out ??= {})[key] = d;
  }
  return out;
}

function merge(base: unknown, patch: unknown): unknown {
  if (!isPlain(base) || !isPlain(patch)) return patch;
  const out: Plain = { ...base };
  for (const key in patch) out[key] = merge(base[key], patch[key]);
  return out;
}

/** What changed from `prev` to `next`, only that; undefined when nothing did. */
export function diffNodeView(prev: NodeView, next: NodeView): NodeChanges | undefined {
  return diff(prev, next) as NodeChanges | undefined;
}

/**
 * `status` with `changes` applied (a new object; `status` is left as it is). Also merges two
 * changes into one: `applyNodeChanges(a, b)` says what `a` then `b` say.
 */
export function applyNodeChanges<T extends NodeChanges>(status: T, changes: NodeChanges): T {
  return merge(status, changes) as T;
}
