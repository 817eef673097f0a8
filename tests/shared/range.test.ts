import { ERROR_STATUS } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import {
  checkNodeId,
  formatNodeSet,
  parseExactNodeId,
  parseNodeId,
  parseNodeSet,
} from "../../shared/range.ts";
import { ClusterError, NodeRangeError } from "../../shared/errors.ts";

/** Inclusive integer range built by a loop, independent of the code under test. */
function span(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Asserts `fn` throws a NodeRangeError (code invalid_range) whose message matches `pattern`. */
function assertRangeError(fn: () => unknown, pattern: RegExp, label: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NodeRangeError, `${label}: expected NodeRangeError, got ${e}`);
    assert.ok(e instanceof ClusterError, `${label}: NodeRangeError is a ClusterError`);
    assert.equal(e.code, "invalid_range", label);
    assert.equal(ERROR_STATUS[e.code], 400, label);
    assert.match(e.message, pattern, `${label}: message "${e.message}"`);
    return true;
  }, label);
}

Deno.test("parseNodeSet: a single node", () => {
  assert.deepEqual(parseNodeSet("7", 60), [7]);
  assert.deepEqual(parseNodeSet("1", 60), [1]);
  assert.deepEqual(parseNodeSet("60", 60), [60]);
  assert.deepEqual(parseNodeSet("48", 48), [48]);
});

Deno.test("parseNodeSet: the vendor LAN set 1-16,23,30-60", () => {
  const expected = [...span(1, 16), 23, ...span(30, 60)];
  assert.equal(expected.length, 48);
  assert.deepEqual(parseNodeSet("1-16,23,30-60", 60), expected);
});

Deno.test("parseNodeSet: vendor two-number form FIRST LAST is a range", () => {
  assert.deepEqual(parseNodeSet("1 60", 60), span(1, 60));
  assert.deepEqual(parseNodeSet("5 9", 60), span(5, 9));
  assert.deepEqual(parseNodeSet("  3\t4 ", 60), [3, 4]);
  assert.deepEqual(parseNodeSet("8 8", 60), [8]);
});

Deno.test("parseNodeSet: all, in any case, is every node of the module", () => {
  assert.deepEqual(parseNodeSet("all", 60), span(1, 60));
  assert.deepEqual(parseNodeSet("ALL", 60), span(1, 60));
  assert.deepEqual(parseNodeSet(" All ", 48), span(1, 48));
});

Deno.test("parseNodeSet: duplicates and overlaps are merged and sorted", () => {
  assert.deepEqual(parseNodeSet("5,3,5,1", 60), [1, 3, 5]);
  assert.deepEqual(parseNodeSet("10-20,15-25", 60), span(10, 25));
  assert.deepEqual(parseNodeSet("30-32,1-2,31", 60), [1, 2, 30, 31, 32]);
  assert.deepEqual(parseNodeSet("7,7,7", 60), [7]);
  assert.deepEqual(parseNodeSet("1-60,1-60", 60), span(1, 60));
});

Deno.test("parseNodeSet: whitespace around items and separators is ignored", () => {
  assert.deepEqual(parseNodeSet("  1 - 3 , 5 ,\t7-8  ", 60), [1, 2, 3, 5, 7, 8]);
  assert.deepEqual(parseNodeSet("\n7\n", 60), [7]);
  assert.deepEqual(parseNodeSet("1 ,2", 60), [1, 2]);
});

Deno.test("parseNodeSet: leading zeros are plain decimal", () => {
  assert.deepEqual(parseNodeSet("07", 60), [7]);
  assert.deepEqual(parseNodeSet("01-03", 60), [1, 2, 3]);
});

Deno.test("parseNodeSet: every bad input is rejected with a message naming the problem", () => {
  const cases: [string, number, RegExp][] = [
    ["0", 60, /node 0 does not exist.*1 to 60/],
    ["61", 60, /node 61 does not exist.*1 to 60/],
    ["49", 48, /node 49 does not exist.*1 to 48/],
    ["1-61", 60, /node 61 does not exist/],
    ["0-5", 60, /node 0 does not exist/],
    ["abc", 60, /"abc" is not a node id/],
    ["1-", 60, /"1-" is an incomplete range/],
    ["-5", 60, /"-5" is an incomplete range/],
    ["60-1", 60, /range "60-1" runs backwards: write 1-60/],
    ["60 1", 60, /runs backwards: write 1-60/],
    ["1--3", 60, /"1--3" is not a range/],
    ["1,,2", 60, /empty item.*extra comma/],
    [",1", 60, /empty item/],
    ["1,", 60, /empty item/],
    ["", 60, /empty node set/],
    [" ", 60, /empty node set/],
    ["1.5", 60, /"1.5" is not a node id/],
    ["+3", 60, /"\+3" is not a node id/],
    ["1e1", 60, /"1e1" is not a node id/],
    ["0x10", 60, /"0x10" is not a node id/],
    ["1-2-3", 60, /"1-2-3" is not a range/],
    ["1 2 3", 60, /"1 2 3": separate node ids with commas \(1,2,3\)/],
    ["all,1", 60, /"all" is not a node id/],
    ["1-a", 60, /"1-a" is not a range/],
    ["-", 60, /incomplete range/],
  ];
  for (const [input, max, pattern] of cases) {
    assertRangeError(() => parseNodeSet(input, max), pattern, JSON.stringify(input));
  }
});

Deno.test("parseNodeId: accepts 1..maxNode, rejects everything else", () => {
  assert.equal(parseNodeId("1", 60), 1);
  assert.equal(parseNodeId(" 60 ", 60), 60);
  assert.equal(parseNodeId("48", 48), 48);
  const bad: [string, number, RegExp][] = [
    ["0", 60, /node 0 does not exist/],
    ["61", 60, /node 61 does not exist/],
    ["49", 48, /node 49 does not exist: this module has nodes 1 to 48/],
    ["", 60, /is not a node id/],
    ["-1", 60, /"-1" is not a node id/],
    ["1.0", 60, /is not a node id/],
    ["1e1", 60, /is not a node id/],
    ["0x10", 60, /is not a node id/],
    ["+3", 60, /is not a node id/],
    ["Infinity", 60, /is not a node id/],
    ["1 2", 60, /is not a node id/],
  ];
  for (const [input, max, pattern] of bad) {
    assertRangeError(() => parseNodeId(input, max), pattern, JSON.stringify(input));
  }
});

Deno.test("parseNodeId: an id too long for a number is named as typed, not as 1e+23", () => {
  for (const text of ["99999999999999999999999", "0099999999999999999999999"]) {
    assertRangeError(
      () => parseNodeId(text, 60),
      /^node 99999999999999999999999 does not exist: this module has nodes 1 to 60$/,
      text,
    );
    assertRangeError(
      () => parseExactNodeId(text, 60),
      /^node 99999999999999999999999 does not exist/,
      `path ${text}`,
    );
  }
  assertRangeError(
    () => parseNodeSet("1-99999999999999999999999", 60),
    /^node 99999999999999999999999 does not exist/,
    "range",
  );
  assertRangeError(() => parseNodeId("0061", 60), /^node 61 does not exist/, "leading zeros");
});

Deno.test("parseExactNodeId: a path id is exactly a number, never trimmed", () => {
  assert.equal(parseExactNodeId("5", 60), 5);
  assert.equal(parseExactNodeId("60", 60), 60);
  for (const input of [" 5", "5 ", "\t5", "5\n", "\u00a05", ""]) {
    assertRangeError(() => parseExactNodeId(input, 60), /is not a node id/, JSON.stringify(input));
  }
  assertRangeError(() => parseExactNodeId("61", 60), /node 61 does not exist/, "61");
});

Deno.test("formatNodeSet: compact ranges, sorted, de-duplicated", () => {
  assert.equal(formatNodeSet([]), "");
  assert.equal(formatNodeSet([7]), "7");
  assert.equal(formatNodeSet([1, 2, 3, 5]), "1-3,5");
  assert.equal(formatNodeSet([5, 3, 2, 1, 3]), "1-3,5");
  assert.equal(formatNodeSet([1, 3, 5]), "1,3,5");
  assert.equal(formatNodeSet([4, 5]), "4-5");
  assert.equal(formatNodeSet([...span(1, 16), 23, ...span(30, 60)]), "1-16,23,30-60");
});

Deno.test("formatNodeSet(parseNodeSet(x)) round-trips canonical sets", () => {
  for (const text of ["7", "1-16,23,30-60", "1-60", "1,3,5", "2-3,10,12-14,60", "17-22,24-29"]) {
    assert.equal(formatNodeSet(parseNodeSet(text, 60)), text);
  }
  // Non-canonical inputs normalise to the canonical form, which is then a fixed point.
  const pairs: [string, string][] = [
    ["all", "1-60"],
    ["1 60", "1-60"],
    ["5,4,3", "3-5"],
    [" 10-20 , 15-25 ", "10-25"],
    ["1,2,3,23", "1-3,23"],
  ];
  for (const [input, canonical] of pairs) {
    const once = formatNodeSet(parseNodeSet(input, 60));
    assert.equal(once, canonical, input);
    assert.equal(formatNodeSet(parseNodeSet(once, 60)), canonical, `${input} (second pass)`);
  }
});

/** mulberry32: a tiny seeded PRNG so the property test is reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("property: parse(format(S)) = S for random subsets of 1..maxNode", () => {
  const random = mulberry32(0xc0ffee);
  for (const maxNode of [48, 60]) {
    for (let trial = 0; trial < 500; trial++) {
      const density = random();
      const subset: number[] = [];
      for (let id = 1; id <= maxNode; id++) if (random() < density) subset.push(id);
      const text = formatNodeSet(subset);
      if (subset.length === 0) {
        assert.equal(text, "");
        continue;
      }
      const back = parseNodeSet(text, maxNode);
      assert.deepEqual(back, subset, `maxNode ${maxNode}, text "${text}"`);
      // A shuffled, duplicated input formats to the same text.
      const shuffled = [...subset, ...subset.slice(0, 3)].sort(() => random() - 0.5);
      assert.equal(formatNodeSet(shuffled), text);
    }
  }
});

Deno.test("parseNodeSet: several space-separated ids get a hint to use commas", () => {
  assert.throws(() => parseNodeSet("7 9 11", 60), /separate node ids with commas \(7,9,11\)/);
  assert.deepEqual(parseNodeSet("7 9", 60), [7, 8, 9], "two numbers stay the vendor's FIRST LAST");
});

Deno.test("checkNodeId: a number is checked against the module, the same words as parseNodeId", () => {
  assert.equal(checkNodeId(1, 60), 1);
  assert.equal(checkNodeId(60, 60), 60);
  assertRangeError(
    () => checkNodeId(0, 60),
    /^node 0 does not exist: this module has nodes 1 to 60$/,
    "0",
  );
  assertRangeError(() => checkNodeId(61, 60), /^node 61 does not exist/, "61");
  assertRangeError(() => checkNodeId(12, 10), /nodes 1 to 10/, "small module");
  assertRangeError(() => checkNodeId(1.5, 60), /1\.5 is not a node id/, "1.5");
  assertRangeError(() => checkNodeId(NaN, 60), /NaN is not a node id/, "NaN");
  assertRangeError(
    () => parseNodeId("61", 60),
    /^node 61 does not exist: this module has nodes 1 to 60$/,
    "text",
  );
});
