/** Renders `cm boot N`: a node's latest boot timeline and the one before it. */
import type { BootTimeline, NodeBoot } from "../../shared/boot_schemas.ts";

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`.padStart(7);
}

/**
 * How a boot ended, in words. `nowOff`: the node is off now, so a boot that reached `running`
 * (or any stage) before that is told as ended, not as still running.
 */
export function bootOutcome(t: BootTimeline, nowOff: boolean): string {
  if (t.state === "stalled") return `STALLED before ${t.stalledAt}`;
  if (t.state === "off") return "switched off while booting";
  if (nowOff) {
    return t.state === "running" ? "ran, then switched off" : `${t.state}, then switched off`;
  }
  return t.state;
}

/**
 * One timeline as lines: each stage with its time after power-on, then the TFTP files.
 * `nowOff`: the node is off now (see bootOutcome).
 */
export function formatTimeline(t: BootTimeline, title: string, nowOff = false): string[] {
  const when = new Date(t.poweredOnAt).toISOString().replace("T", " ").slice(0, 19);
  const end = bootOutcome(t, nowOff);
  const lines = [
    `${title}: attempt ${t.attempt}, powered on ${when} UTC — ${end}` +
    (t.netbootObserved ? "" : " (DHCP/TFTP not observed for this bay)"),
  ];
  for (const m of t.stages) {
    lines.push(
      `  ${secs(m.at - t.poweredOnAt)}  ${m.stage.padEnd(13)} ${
        m.inferred ? "(inferred) " : ""
      }${m.detail}`,
    );
  }
  if (t.tftp.length) {
    lines.push(
      `  TFTP: ${t.tftp.map((f) => `${f.file}${f.ok ? "" : " (missing)"}`).join(", ")}`,
    );
  }
  return lines;
}

/**
 * The whole answer of `GET /nodes/:id/boot`; `nowOff`: the node's power reads off now (the
 * latest boot is then told as ended; the one before ended anyway).
 */
export function formatBoot(b: NodeBoot, nowOff = false): string {
  const lines = [`node ${b.node}`];
  if (b.quarantine) {
    lines.push(
      `QUARANTINED at ${b.quarantine.stage}: ${b.quarantine.reason} (clear with: cm node clear ${b.node})`,
    );
  }
  if (!b.latest) lines.push("no boot recorded since this hub has known the node");
  else lines.push(...formatTimeline(b.latest, "latest boot", nowOff));
  if (b.previous) lines.push("", ...formatTimeline(b.previous, "boot before"));
  const t = b.timeouts;
  lines.push(
    "",
    "deadlines after power-on: " +
      Object.entries(t).map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)}s`).join(", "),
  );
  return lines.join("\n");
}
