/**
 * The one parser for node sets, used by hub, CLI, agent and tests.
 *
 * Accepted forms (whitespace around separators is ignored):
 *   "7"             one node
 *   "1-16,23,30-60" ranges and singles, comma separated
 *   "1 60"          the vendor's `powerall on FIRST LAST` form: two bare numbers = a range
 *   "all"           every node of the module
 */
import { NodeRangeError } from "./errors.ts";

const INTEGER = /^[0-9]+$/;

/** Checks that the whole number `id` is a node of a module with nodes 1..maxNode; returns it. */
export function checkNodeId(id: number, maxNode: number): number {
  if (!Number.isInteger(id)) {
    throw new NodeRangeError(`${id} is not a node id: use a whole number from 1 to ${maxNode}`);
  }
  if (id < 1 || id > maxNode) throw new NodeRangeError(noSuchNode(id, maxNode));
  return id;
}

/** Parses one node id, checking it lies in 1..maxNode. */
export function parseNodeId(text: string, maxNode: number): number {
  const t = String(text).trim();
  if (!INTEGER.test(t)) {
    throw new NodeRangeError(`"${text}" is not a node id: use a whole number from 1 to ${maxNode}`);
  }
  const id = Number(t);
  // Named as typed (without leading zeros): a number too long for a double prints as 1e+23.
  if (id < 1 || id > maxNode) {
    throw new NodeRangeError(noSuchNode(t.replace(/^0+(?=.)/, ""), maxNode));
  }
  return id;
}

/** The one wording of "no such node": `node 61 does not exist: this module has nodes 1 to 60`. */
export function noSuchNode(id: number | string, maxNode: number): string {
  return `node ${id} does not exist: this module has nodes 1 to ${maxNode}`;
}

/**
 * Parses a node id that must be exactly a number, as in a URL path (`/nodes/%205` is not
 * node 5): surrounding whitespace is refused, not trimmed.
 */
export function parseExactNodeId(text: string, maxNode: number): number {
  if (!INTEGER.test(String(text))) {
    throw new NodeRangeError(
      `${JSON.stringify(String(text))} is not a node id: use a whole number from 1 to ${maxNode}` +
        ", with nothing around it",
    );
  }
  return parseNodeId(text, maxNode);
}

/**
 * Parses a node set into a sorted list of distinct node ids.
 * Throws {@link NodeRangeError} with a message naming the bad part.
 */
export function parseNodeSet(text: string, maxNode: number): number[] {
  const src = String(text).trim();
  if (src === "") throw new NodeRangeError("empty node set: give ids like 1-16,23,30-60");
  if (src.toLowerCase() === "all") return Array.from({ length: maxNode }, (_, i) => i + 1);

  // The vendor form "FIRST LAST": exactly two bare numbers separated by whitespace.
  const pair = src.match(/^([0-9]+)\s+([0-9]+)$/);
  if (pair) return expandRange(pair[1], pair[2], src, maxNode);

  const ids = new Set<number>();
  for (const rawPart of src.split(",")) {
    const part = rawPart.trim();
    if (part === "") {
      throw new NodeRangeError(`empty item in node set "${src}": remove the extra comma`);
    }
    if (/^[0-9]+(\s+[0-9]+)+$/.test(part)) {
      throw new NodeRangeError(
        `"${part}": separate node ids with commas (${
          part.split(/\s+/).join(",")
        }); two numbers with a space between mean a range FIRST LAST`,
      );
    }
    const dash = part.indexOf("-");
    if (dash === -1) {
      ids.add(parseNodeId(part, maxNode));
      continue;
    }
    const from = part.slice(0, dash).trim();
    const to = part.slice(dash + 1).trim();
    if (from === "" || to === "") {
      throw new NodeRangeError(
        `"${part}" is an incomplete range: write it as FIRST-LAST, e.g. 1-16`,
      );
    }
    for (const id of expandRange(from, to, part, maxNode)) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

function expandRange(fromText: string, toText: string, part: string, maxNode: number): number[] {
  if (!INTEGER.test(fromText) || !INTEGER.test(toText)) {
    throw new NodeRangeError(
      `"${part}" is not a range of node ids: write it as FIRST-LAST, e.g. 1-16`,
    );
  }
  const from = parseNodeId(fromText, maxNode);
  const to = parseNodeId(toText, maxNode);
  if (from > to) {
    throw new NodeRangeError(`range "${part}" runs backwards: write ${to}-${from}`);
  }
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Formats a list of ids compactly, the inverse of {@link parseNodeSet}: [1,2,3,5] → "1-3,5". */
export function formatNodeSet(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
