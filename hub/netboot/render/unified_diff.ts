/**
 * A unified diff (`diff -u` format) of two texts, for `netboot apply --dry-run`: pure, line
 * based (LCS), three lines of context. Files the hub renders are small (a few hundred lines);
 * past {@link MAX_CELLS} the whole file is shown as replaced rather than compared.
 */

/** Above this many line pairs the diff shows the whole file replaced. */
export const MAX_CELLS = 4_000_000;

type Op = { kind: " " | "-" | "+"; line: string };

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function ops(a: string[], b: string[]): Op[] {
  const n = a.length, m = b.length;
  if (n * m > MAX_CELLS) {
    return [
      ...a.map((line) => ({ kind: "-" as const, line })),
      ...b.map((line) => ({ kind: "+" as const, line })),
    ];
  }
  // lcs[i][j]: length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: Op[] = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: " ", line: a[i] });
      i++, j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ kind: "-", line: a[i++] });
    else out.push({ kind: "+", line: b[j++] });
  }
  while (i < n) out.push({ kind: "-", line: a[i++] });
  while (j < m) out.push({ kind: "+", line: b[j++] });
  return out;
}

/**
 * The unified diff turning `before` into `after`, labelled `fromName` / `toName`; "" when they
 * are equal. `before` null means the file does not exist yet (`/dev/null`).
 */
export function unifiedDiff(
  before: string | null,
  after: string,
  fromName: string,
  toName: string,
  context = 3,
): string {
  if (before === after) return "";
  const a = splitLines(before ?? ""), b = splitLines(after);
  const all = ops(a, b);
  const changed = all.map((o, k) => (o.kind !== " " ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return ""; // only a trailing newline differs
  // Group changes whose context overlaps into hunks.
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const lo = Math.max(0, k - context), hi = Math.min(all.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }
  const lines = [`--- ${before === null ? "/dev/null" : fromName}`, `+++ ${toName}`];
  // Line numbers before each op.
  let ai = 0, bi = 0;
  const pos = all.map((o) => {
    const p = { a: ai, b: bi };
    if (o.kind !== "+") ai++;
    if (o.kind !== "-") bi++;
    return p;
  });
  for (const [lo, hi] of hunks) {
    const slice = all.slice(lo, hi + 1);
    const aLen = slice.filter((o) => o.kind !== "+").length;
    const bLen = slice.filter((o) => o.kind !== "-").length;
    const aStart = aLen === 0 ? pos[lo].a : pos[lo].a + 1;
    const bStart = bLen === 0 ? pos[lo].b : pos[lo].b + 1;
    lines.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`);
    for (const o of slice) lines.push(`${o.kind}${o.line}`);
  }
  return lines.join("\n") + "\n";
}
