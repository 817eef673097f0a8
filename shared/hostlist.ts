/**
 * Slurm hostlists, as slurmctld hands them to `SuspendProgram` and `ResumeProgram`:
 * `node[01-16],node23`, `rowa-node[1-3,7]`, `r[1-2]n[01-02]` (several bracket groups expand to
 * every combination), with the zero padding of each range kept (`[08-10]` → 08, 09, 10).
 * Expanding is bounded: a list naming more than {@link MAX_HOSTS} hosts is refused.
 */
import { ClusterError } from "./errors.ts";

/** The most hosts one hostlist may expand to. */
export const MAX_HOSTS = 100_000;

function bad(text: string, why: string): never {
  throw new ClusterError("bad_request", `hostlist "${text}": ${why}`);
}

/** Splits at commas outside brackets. */
function topLevelItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") {
      if (depth > 0) bad(text, "brackets do not nest");
      depth++;
    } else if (c === "]") {
      if (depth === 0) bad(text, `"]" without "[" at ${i + 1}`);
      depth--;
    } else if (c === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) bad(text, `"[" without "]"`);
  items.push(text.slice(start));
  return items.map((s) => s.trim()).filter((s) => s !== "");
}

/** The values of one bracket group: `01-03,7` → 01, 02, 03, 7. */
function bracketValues(text: string, group: string): string[] {
  const out: string[] = [];
  for (const part of group.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) bad(text, `"[${group}]" holds "${part}", not a number or range like 01-16`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) bad(text, `range ${part} runs backwards`);
    if (out.length + hi - lo + 1 > MAX_HOSTS) bad(text, `names more than ${MAX_HOSTS} hosts`);
    const width = m[1].length;
    for (let n = lo; n <= hi; n++) out.push(String(n).padStart(width, "0"));
  }
  return out;
}

/** Expands one item (`pre[1-2]mid[3-4]post`) into host names. */
function expandItem(text: string, item: string): string[] {
  let hosts = [""];
  const re = /\[([^\]]*)\]/g;
  let last = 0;
  for (let m = re.exec(item); m !== null; m = re.exec(item)) {
    const literal = item.slice(last, m.index);
    const values = bracketValues(text, m[1]);
    if (hosts.length * values.length > MAX_HOSTS) bad(text, `names more than ${MAX_HOSTS} hosts`);
    hosts = hosts.flatMap((h) => values.map((v) => h + literal + v));
    last = re.lastIndex;
  }
  const tail = item.slice(last);
  hosts = hosts.map((h) => h + tail);
  for (const h of hosts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h)) bad(text, `"${h}" is not a host name`);
  }
  return hosts;
}

/** Expands a Slurm hostlist into host names, in order, without repeats. */
export function expandHostlist(text: string): string[] {
  if (text.trim() === "") bad(text, "names no host");
  const seen = new Set<string>();
  for (const item of topLevelItems(text)) {
    for (const h of expandItem(text, item)) {
      seen.add(h);
      if (seen.size > MAX_HOSTS) bad(text, `names more than ${MAX_HOSTS} hosts`);
    }
  }
  return [...seen];
}
