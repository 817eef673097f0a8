/**
 * The guest suite's bookkeeping: named checks printed as `ok`/`FAIL` lines (the host test turns
 * each into a step) and the closing `N passed, N failed` line.
 */

let passed = 0;
let failed = 0;
const started = performance.now();

/** Milliseconds since the suite started. */
export function elapsed(): number {
  return Math.round(performance.now() - started);
}

/** Prints a comment line (shown in the console log, ignored by the host test). */
export function note(text: string): void {
  console.log(`# [${elapsed()} ms] ${text}`);
}

/** Records one check. */
export function check(name: string, ok: boolean, detail = ""): boolean {
  if (ok) passed++;
  else failed++;
  console.log(
    `${ok ? "ok  " : "FAIL"} ${name}${detail ? ` -- ${detail.replace(/\n/g, " | ")}` : ""}`,
  );
  return ok;
}

/** Records a check that `f` throws an error whose "Name: message" matches `re`. */
export async function checkThrows(name: string, f: () => unknown, re: RegExp): Promise<void> {
  try {
    await f();
    check(name, false, "did not throw");
  } catch (e) {
    const msg = `${(e as Error).name}: ${(e as Error).message}`;
    check(name, re.test(msg), msg);
  }
}

/** Runs one section; an exception fails the section instead of ending the suite. */
export async function section(name: string, body: () => Promise<void>): Promise<void> {
  note(`section ${name}`);
  try {
    await body();
  } catch (e) {
    check(`${name}: ran to the end`, false, (e as Error).stack ?? String(e));
  }
}

/** Prints the closing line and returns the exit code. */
export function summary(): number {
  note("done");
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond` holds or `ms` pass; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, step = 100) {
  const end = performance.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() >= end) return false;
    await sleep(step);
  }
}
