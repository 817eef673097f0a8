/** The unified diff of `netboot apply --dry-run`, checked against GNU `diff -u` itself. */
import assert from "node:assert/strict";
import { unifiedDiff } from "../../hub/netboot/render/unified_diff.ts";

const hasDiff = await new Deno.Command("diff", { args: ["--version"], stdout: "null" }).output()
  .then((o) => o.code === 0).catch(() => false);

async function gnu(a: string, b: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a`, a);
    await Deno.writeTextFile(`${dir}/b`, b);
    const out = await new Deno.Command("diff", { args: ["-u", `${dir}/a`, `${dir}/b`] }).output();
    // Drop the two header lines (they carry temp names and times).
    return new TextDecoder().decode(out.stdout).split("\n").slice(2).join("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const lines = (n: number, f = (i: number) => `line ${i}`) =>
  Array.from({ length: n }, (_, i) => f(i)).join("\n") + "\n";

Deno.test({
  name: "unified diff: hunks, context and line numbers are those of diff -u",
  ignore: !hasDiff,
  async fn() {
    const base = lines(40);
    const cases: [string, string][] = [
      [base, base.replace("line 5\n", "line five\n")],
      [base, base.replace("line 3\n", "").replace("line 30\n", "line 30\nnew a\nnew b\n")],
      [base, base.replace("line 0\n", "") + "tail\n"],
      [base, base.replace("line 10\nline 11\nline 12\n", "x\n")],
      [lines(3), lines(8, (i) => `other ${i}`)],
      [base, base.replace("line 20\n", "line 20 \n").replace("line 24\n", "line 24!\n")],
    ];
    for (const [a, b] of cases) {
      const mine = unifiedDiff(a, b, "a", "b").split("\n").slice(2).join("\n");
      assert.equal(mine, await gnu(a, b));
    }
  },
});

Deno.test("unified diff: equal texts give nothing; a new file is diffed against /dev/null", () => {
  assert.equal(unifiedDiff("a\nb\n", "a\nb\n", "x", "x"), "");
  assert.equal(
    unifiedDiff(null, "a\nb\n", "/etc/f", "/etc/f"),
    "--- /dev/null\n+++ /etc/f\n@@ -0,0 +1,2 @@\n+a\n+b\n",
  );
});
