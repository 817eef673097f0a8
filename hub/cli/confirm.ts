/**
 * Confirmation before `cm` switches running nodes off or cycles them. On a terminal it asks;
 * `--yes` (or `CM_ASSUME_YES=1`) skips the question; without a terminal (a script, a pipe)
 * nothing may wait for an answer, so the call is refused (exit 2) unless `--yes` is given.
 * Switching on never asks.
 */
import { ClusterError } from "../../shared/errors.ts";
import { formatNodeSet, parseNodeSet } from "../../shared/range.ts";
import type { NodeStatus } from "../../shared/schemas.ts";
import type { CliContext } from "./command.ts";

/** True when the environment says yes to every question (`CM_ASSUME_YES=1`, `true`, `yes`). */
export function envAssumesYes(env: (n: string) => string | undefined): boolean {
  const v = env("CM_ASSUME_YES")?.toLowerCase();
  return v === "1" || v === "true" || v === "yes";
}

/**
 * The nodes of `set` (a node set as typed; undefined: the enabled bays, as the hub's runs
 * default to) whose rail is on now and that `also` accepts: what a switch-off or cycle of
 * that set would interrupt.
 */
export async function runningIn(
  ctx: CliContext,
  set: string | undefined,
  also: (n: NodeStatus) => boolean = () => true,
): Promise<number[]> {
  const nodes = await ctx.api.get<NodeStatus[]>("/nodes");
  const wanted = new Set(
    set === undefined
      ? nodes.filter((n) => n.enabled).map((n) => n.id)
      : parseNodeSet(set, nodes.length),
  );
  return nodes.filter((n) => wanted.has(n.id) && n.power.actual === "on" && also(n))
    .map((n) => n.id);
}

/** Of `ids`, the nodes whose rail is on now. */
export async function runningAmong(ctx: CliContext, ids: readonly number[]): Promise<number[]> {
  const wanted = new Set(ids);
  const nodes = await ctx.api.get<NodeStatus[]>("/nodes");
  return nodes.filter((n) => wanted.has(n.id) && n.power.actual === "on").map((n) => n.id);
}

/** "node 7" or "12 nodes (1-12)". */
function describe(ids: readonly number[]): string {
  return ids.length === 1 ? `node ${ids[0]}` : `${ids.length} nodes (${formatNodeSet(ids)})`;
}

/**
 * Asks before `what` (e.g. "switch off", "power-cycle") happens to the running nodes `ids`.
 * Returns true to go on: nothing is running there, `--yes`, or the person answered yes.
 * Returns false (the verb then exits 1, nothing switched) when the person says no. Throws a
 * usage error (exit 2) when there is nobody to ask and no `--yes`.
 */
export async function confirmRunning(
  ctx: CliContext,
  verb: string,
  what: string,
  ids: readonly number[],
  after = "",
): Promise<boolean> {
  if (ids.length === 0 || ctx.assumeYes) return true;
  const question = `${what} ${ids.length === 1 ? "running " : ""}${describe(ids)}${
    ids.length === 1 ? "" : ", which are on"
  }${after}`;
  if (!ctx.prompt) {
    throw new ClusterError(
      "bad_request",
      `would ${question}; refusing without confirmation: not on a terminal, so cm cannot ask. ` +
        "Add --yes (or set CM_ASSUME_YES=1) to go ahead",
    );
  }
  const answer = await ctx.prompt(`cm ${verb}: ${question}. Go ahead? [y/N] `);
  if (/^\s*y(es)?\s*$/i.test(answer ?? "")) return true;
  ctx.err(`cm ${verb}: not confirmed; nothing was switched`);
  return false;
}

/** Reads one answer from a terminal's stdin: the line typed, at most `max` bytes kept. */
export async function readAnswer(
  question: string,
  write: (text: string) => void,
  read: (buf: Uint8Array) => Promise<number | null>,
  max = 256,
): Promise<string | null> {
  write(question);
  const kept: number[] = [];
  const buf = new Uint8Array(64);
  for (;;) {
    const n = await read(buf);
    if (n === null) {
      write("\n");
      return kept.length ? new TextDecoder().decode(new Uint8Array(kept)) : null;
    }
    for (const b of buf.subarray(0, n)) {
      if (b === 0x0a) return new TextDecoder().decode(new Uint8Array(kept));
      if (kept.length < max) kept.push(b);
    }
  }
}

/** The process's own terminal as a prompt, or undefined when stdin is not a terminal. */
export function terminalPrompt(): ((question: string) => Promise<string | null>) | undefined {
  if (!Deno.stdin.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  return (question) =>
    readAnswer(
      question,
      (t) => Deno.stderr.writeSync(encoder.encode(t)),
      (b) => Deno.stdin.read(b),
    );
}
