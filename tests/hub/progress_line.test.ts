/** `cm`'s progress display: redrawn in place on a terminal, whole lines in a pipe; the job it draws. */
import assert from "node:assert/strict";
import type { ApiClient } from "../../hub/cli/api_client.ts";
import type { CliContext } from "../../hub/cli/command.ts";
import { followJob } from "../../hub/cli/job_progress.ts";
import { fitWidth, LineProgress, TerminalProgress } from "../../hub/cli/progress_line.ts";
import { ClusterError } from "../../shared/errors.ts";
import type { Job } from "../../shared/schemas.ts";

const CLEAR = "\r\x1b[2K";

/** A terminal that records what is written, and what its screen shows. */
function fakeTerminal(columns = 80) {
  let written = "";
  return {
    tty: { write: (t: string) => void (written += t), columns: () => columns },
    written: () => written,
    /** The screen's lines: `\r` returns to the line's start, ESC[2K erases it. */
    screen(): string[] {
      const lines = [""];
      for (const part of written.replaceAll(CLEAR, "\0").split(/(\0|\n)/)) {
        if (part === "\0") {
          lines[lines.length - 1] = "";
          continue;
        }
        if (part === "\n") lines.push("");
        else lines[lines.length - 1] += part;
      }
      return lines;
    },
  };
}

Deno.test("TerminalProgress: each update redraws the one line in place; no line per step", () => {
  const t = fakeTerminal();
  const p = new TerminalProgress(t.tty);
  for (let s = 30; s > 0; s--) p.update({ text: "0/5 fabric: waiting", tail: `, ${s} s left` });
  p.update({ text: "1/5 control plane" });
  assert.equal(t.written().split("\n").length, 1, "no newline while it runs");
  assert.equal(t.written().split(CLEAR).length - 1, 31, "every update erases and redraws");
  assert.deepEqual(t.screen(), ["1/5 control plane"]);
  p.end();
  assert.deepEqual(t.screen(), ["1/5 control plane", ""], "the last line stays, cursor below");
});

Deno.test("TerminalProgress: a message goes above the bar and stays; the bar comes back", () => {
  const t = fakeTerminal();
  const p = new TerminalProgress(t.tty);
  p.update({ text: "[###...] 3/10 testall" });
  p.log("cancelling job testall-1 (Ctrl-C again to stop watching; it would run on)");
  p.update({ text: "[####..] 4/10 testall" });
  p.log("cancel of job testall-1 accepted by the hub");
  p.end();
  assert.deepEqual(t.screen(), [
    "cancelling job testall-1 (Ctrl-C again to stop watching; it would run on)",
    "cancel of job testall-1 accepted by the hub",
    "[####..] 4/10 testall",
    "",
  ]);
});

Deno.test("TerminalProgress: cut to the terminal's width, keeping the countdown", () => {
  const t = fakeTerminal(40);
  const p = new TerminalProgress(t.tty);
  const text = "[..............................] 0/5 bootstrap 1-16,23,30-60: fabric: waiting";
  p.update({ text, tail: ", 23 s left" });
  const [line] = t.screen();
  assert.equal([...line].length, 37, "short of the width: never wraps, room for ^C");
  assert.ok(line.endsWith("…, 23 s left"), line);
  p.end();
  assert.equal(t.screen()[0], `${text}, 23 s left`, "the final line is whole");
});

Deno.test("TerminalProgress: nothing drawn, nothing to end; a message is a plain line", () => {
  const t = fakeTerminal();
  const p = new TerminalProgress(t.tty);
  p.log("hello");
  p.end();
  assert.equal(t.written(), "hello\n");
});

Deno.test("LineProgress: a line per change of step (not of the countdown), at most every 2 s, always the last", () => {
  const lines: string[] = [];
  let now = 0;
  const p = new LineProgress((l) => lines.push(l), () => now);
  for (let s = 30; s > 0; s--) {
    p.update({ text: "0/5 fabric: waiting", tail: `, ${s} s left` });
    now += 1000;
  }
  assert.deepEqual(lines, ["0/5 fabric: waiting, 30 s left"], "the countdown alone is no line");
  p.update({ text: "1/5 control plane" });
  now += 100;
  p.update({ text: "2/5 self test" }); // within 2 s of the last line: held back
  assert.equal(lines.length, 2);
  now += 500;
  p.update({ text: "3/5 boot", tail: ", 10 s left" });
  p.log("a warning");
  p.end();
  assert.deepEqual(lines, [
    "0/5 fabric: waiting, 30 s left",
    "1/5 control plane",
    "a warning",
    "3/5 boot, 10 s left",
  ]);
  for (const l of lines) assert.ok(!l.includes("\r") && !l.includes("\x1b"), "no control codes");
});

Deno.test("fitWidth cuts by characters and marks the cut", () => {
  assert.equal(fitWidth("abc", 3), "abc");
  assert.equal(fitWidth("abcdef", 4), "abc…");
  assert.equal(fitWidth("→→→→", 2), "→…");
});

Deno.test("followJob checks the hub's job against the schema: a bad countdown is a clear error", async () => {
  const job: Job = {
    id: "bootstrap-1",
    kind: "bootstrap",
    state: "running",
    summary: "1-4",
    progress: { done: 0, total: 5, note: "fabric: waiting for the switch", remainingMs: 3000 },
    createdAt: 1,
    finishedAt: null,
    error: null,
  };
  const lines: string[] = [];
  const ctx: CliContext = {
    api: {
      get: () => Promise.resolve({ ...job, progress: { ...job.progress, remainingMs: "soon" } }),
    } as unknown as ApiClient,
    args: [],
    json: false,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    interactive: false,
  };
  await assert.rejects(followJob(ctx, job, 1), (e: unknown) => {
    assert.ok(e instanceof ClusterError);
    assert.match(e.message, /invalid job from the hub: progress\.remainingMs/);
    return true;
  });
  assert.match(lines[0], /fabric: waiting for the switch, 3 s left$/, "the valid one was drawn");
});
