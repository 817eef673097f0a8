/** Renders `cm status`: one line per bay, grouped by BitBar bus. */
import type { NodeStatus } from "../../shared/schemas.ts";

function age(ms: number, now: number): string {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/**
 * The HEARTBEAT column: the age of the current heartbeat; for a node without one (off, or not
 * up yet) that was heard before, even before a hub restart, `last 12m`; `-` if never heard.
 */
function heartbeat(n: NodeStatus, now: number): string {
  if (n.lastHeartbeatAt !== null) return age(n.lastHeartbeatAt, now);
  if (n.lastSeenAt !== null) return `last ${age(n.lastSeenAt, now)}`;
  return "-";
}

/**
 * A readable table of the bays. `stalled` names the booting bays whose boot stalled (and
 * before which stage): they show `stalled`, not `booting` — nothing supervises a manual
 * switch-on, so such a bay would otherwise look as if it were still on its way up.
 */
export function formatStatus(
  nodes: readonly NodeStatus[],
  now = Date.now(),
  stalled: ReadonlyMap<number, string> = new Map(),
): string {
  const header =
    "NODE BUS SLOT HOST    IP           MODEL   POWER       STATE     LED       HEARTBEAT";
  const lines = [header];
  let bus = 0;
  for (const n of nodes) {
    if (n.bus !== bus) {
      if (bus !== 0) lines.push("");
      bus = n.bus;
    }
    const power = n.power.actual === n.power.desired
      ? n.power.actual
      : `${n.power.actual}→${n.power.desired}`;
    const model = n.agent?.identity.model ?? n.expectedModel;
    lines.push(
      [
        String(n.id).padStart(4),
        String(n.bus).padStart(3),
        String(n.slot).padStart(4),
        n.hostname.padEnd(7),
        n.ip.padEnd(12),
        model.padEnd(7),
        (power + (n.enabled ? "" : " (x)")).padEnd(11),
        (stalled.has(n.id) && n.lifecycle === "booting" ? "stalled" : n.lifecycle).padEnd(9),
        (n.agent?.led ?? n.ledRequested ?? "-").padEnd(9),
        heartbeat(n, now),
      ].join(" "),
    );
  }
  const count = (f: (n: NodeStatus) => boolean) => nodes.filter(f).length;
  lines.push(
    "",
    `${count((n) => n.power.actual === "on")} on, ${
      count((n) => n.lifecycle === "running")
    } running, ` +
      `${count((n) => n.lifecycle === "lost")} lost, ${
        count((n) => n.lifecycle === "fault")
      } fault of ${nodes.length}`,
  );
  const stuck = nodes.filter((n) => n.lifecycle === "booting" && stalled.has(n.id));
  if (stuck.length) {
    lines.push(
      `stalled boots (cm boot N shows where; cm power N cycle --supervise retries): ` +
        stuck.map((n) => `${n.id} before ${stalled.get(n.id)}`).join(", "),
    );
  }
  const q = nodes.filter((n) => n.quarantine);
  if (q.length) {
    lines.push(
      `quarantined (bulk runs skip them; cm boot N shows why, cm node clear N takes one back): ` +
        q.map((n) => `${n.id} at ${n.quarantine!.stage}`).join(", "),
    );
  }
  return lines.join("\n");
}
