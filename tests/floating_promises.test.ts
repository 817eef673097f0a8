/**
 * The `hub/no-floating-promise` lint rule (scripts/lint/floating_promises.ts, run by
 * `deno lint` through deno.json): it finds the shapes of a promise nobody handles, and hub/
 * has none (an unhandled rejection would end the hub; docs/faults.md).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import plugin from "../scripts/lint/floating_promises.ts";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const HUB_FILE = join(ROOT, "hub/example.ts");

function reported(source: string, file = HUB_FILE): string[] {
  return Deno.lint.runPlugin(plugin, file, source).map((d) => d.message);
}

Deno.test("floating promises: the rule reports the shapes of a promise nobody handles", () => {
  const bad = [
    "declare const p: Promise<void>; p.then(() => 1);",
    "declare const p: Promise<void>; p.finally(() => 1);",
    "async function work() {} work();",
    "async function work() {} void work();",
    "const work = async () => {}; work();",
    "class A { async #go() {} run() { this.#go(); } }",
    "class A { async go() {} run() { void this.go(); } }",
    "declare const clock: { sleep(ms: number): Promise<void> }; clock.sleep(5);",
    "Promise.all([]);",
    "fetch('http://127.0.0.1:1/');",
    "declare const p: Promise<void>; const f = () => void p.then(() => 1);",
    "declare const s: { m(): Promise<void> }; void s.m();",
    "declare const s: { m(): Promise<void> }; const f = () => void s.m();",
  ];
  for (const src of bad) assert.equal(reported(src).length, 1, src);
});

Deno.test("floating promises: handled, awaited and returned promises pass", () => {
  const good = [
    "declare const p: Promise<void>; p.then(() => 1).catch(() => {});",
    "declare const p: Promise<void>; p.then(() => 1, () => {});",
    "declare const p: Promise<void>; p.catch(() => {}).finally(() => {});".replace(
      ".finally(() => {})",
      "",
    ),
    "async function work() {} await work();",
    "async function work() {} work().catch(() => {});",
    "async function work() {} function f() { return work(); }",
    "function sync() {} sync();",
    "async function work() {} const p = work(); await p;",
  ];
  for (const src of good) assert.deepEqual(reported(src), [], src);
});

Deno.test("floating promises: the rule looks at hub/ only", () => {
  assert.deepEqual(reported("fetch('x');", join(ROOT, "tests/hub/x.test.ts")), []);
  assert.deepEqual(reported("fetch('x');", join(ROOT, "node-agent/x.ts")), []);
});

Deno.test("floating promises: hub/ has none (deno lint with the plugin)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["lint", "--rules-include=hub/no-floating-promise", "--json", "hub"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    diagnostics: { code: string; filename: string; range: { start: { line: number } } }[];
  };
  const floating = report.diagnostics
    .filter((d) => d.code === "hub/no-floating-promise")
    .map((d) => `${d.filename.slice(ROOT.length + 1)}:${d.range.start.line + 1}`);
  assert.deepEqual(floating, []);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});
