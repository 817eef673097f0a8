/** Slurm hostlists: ranges, padding, several groups, errors, the bound. */
import assert from "node:assert/strict";
import { expandHostlist, MAX_HOSTS } from "../../shared/hostlist.ts";

Deno.test("hostlists expand as Slurm writes them", () => {
  assert.deepEqual(expandHostlist("node23"), ["node23"]);
  assert.deepEqual(expandHostlist("node[01-03],node23"), ["node01", "node02", "node03", "node23"]);
  assert.deepEqual(expandHostlist("a-node[08-10,15]"), [
    "a-node08",
    "a-node09",
    "a-node10",
    "a-node15",
  ]);
  assert.deepEqual(expandHostlist("n[1-2]"), ["n1", "n2"]);
  assert.deepEqual(expandHostlist("r[1-2]n[01-02]"), ["r1n01", "r1n02", "r2n01", "r2n02"]);
  assert.deepEqual(expandHostlist("x[1-2]-y"), ["x1-y", "x2-y"]);
  assert.deepEqual(expandHostlist("a,b, a ,c"), ["a", "b", "c"]);
  assert.equal(expandHostlist("node[1-16],node23,other[001-100]").length, 117);
});

Deno.test("bad hostlists are clear errors", () => {
  for (
    const [text, why] of [
      ["", /names no host/],
      ["node[1-3", /"\[" without "\]"/],
      ["node1-3]", /"\]" without "\["/],
      ["node[[1]]", /do not nest/],
      ["node[3-1]", /runs backwards/],
      ["node[a-b]", /not a number or range/],
      ["node[]", /not a number or range/],
      ["no de", /not a host name/],
      [`n[1-${MAX_HOSTS + 1}]`, /more than 100000 hosts/],
      ["a[1-1000]b[1-1000]", /more than 100000 hosts/],
    ] as const
  ) {
    assert.throws(() => expandHostlist(text), why, text);
  }
});
