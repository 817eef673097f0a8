/**
 * `cm console`'s logic on a fake terminal: --log, usage and console errors with their exit
 * codes, and raw mode always undone — after ~., after a failing terminal, after a signal.
 */
import assert from "node:assert/strict";
import type { ConsoleTerminal } from "../../hub/cli/terminal.ts";
import { SocketConsoleSource } from "../../hub/console/socket_source.ts";
import { type ServedHub, withServedHub } from "../support/test_hub.ts";
import { runCm } from "../support/cm.ts";

/** A terminal that records raw-mode changes and output, and plays typed input. */
class FakeTerminal implements ConsoleTerminal {
  readonly isTerminal = true;
  raw: boolean[] = [];
  output = "";
  notices: string[] = [];
  failWrites = false;
  #input: (Uint8Array | null)[] = [];
  #wake: (() => void) | null = null;
  stop: ((s: Deno.Signal) => void) | null = null;

  keys(text: string) {
    this.#input.push(new TextEncoder().encode(text));
    this.#wake?.();
  }
  async read() {
    while (this.#input.length === 0) await new Promise<void>((r) => (this.#wake = r));
    return this.#input.shift()!;
  }
  write(data: Uint8Array) {
    if (this.failWrites) return Promise.reject(new Error("EIO: the terminal went away"));
    this.output += new TextDecoder().decode(data);
    return Promise.resolve();
  }
  notice(text: string) {
    this.notices.push(text);
  }
  setRaw(on: boolean) {
    this.raw.push(on);
  }
  /** The window size the terminal reports (a pty nobody sized reports 0×0). */
  window = { cols: 80, rows: 24 };
  size() {
    return this.window;
  }
  onResize() {
    return () => {};
  }
  onStop(fn: (s: Deno.Signal) => void) {
    this.stop = fn;
    return () => (this.stop = null);
  }
}

function cm(t: ServedHub, args: string[], terminal?: FakeTerminal) {
  const env = { CM_HUB: t.url, CM_TOKEN: t.hub.token.value, CM_DATA_DIR: "/nonexistent" };
  return runCm(args, env, undefined, { consoleTerminal: terminal });
}

async function until(pred: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "cm console --log prints the history; usage and console errors have their exit codes",
  ...opts,
  fn: async () => {
    await withServedHub({}, async (t) => {
      await t.call("POST", "/api/v1/nodes/7/power", { state: "on" });
      let r = await cm(t, ["console", "7", "--log", "--lines", "3"]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.split("\n"), [
        "Debian GNU/Linux 12 node07 ttyS0",
        "",
        "node07 login: ",
      ]);
      r = await cm(t, ["console", "7", "--log", "--lines=1", "--timestamps"]);
      assert.match(r.out, /^\d{4}-\d\d-\d\dT[\d:.]+Z node07 login: $/);
      r = await cm(t, ["console"]);
      assert.equal(r.code, 2);
      assert.match(r.err, /usage: console N/);
      r = await cm(t, ["console", "7", "--read-only", "--takeover"]);
      assert.equal(r.code, 2);
      r = await cm(t, ["console", "61"]);
      assert.equal(r.code, 2);
      assert.match(r.err, /node 61 does not exist/);
    });
    await withServedHub({
      overrides: {
        consoles: new Map([[1, new SocketConsoleSource({ host: "127.0.0.1", port: 9 })]]),
      },
    }, async (one) => {
      const r = await cm(one, ["console", "2"]);
      assert.equal(r.code, 1);
      assert.match(r.err, /cm console: node 2 has no console: add it under "consoles"/);
    });
  },
});

Deno.test({
  name: "cm console: raw mode is undone after ~., a failing terminal and a signal",
  ...opts,
  fn: async () => {
    await withServedHub({}, async (t) => {
      await t.call("POST", "/api/v1/nodes/7/power", { state: "on" });

      const a = new FakeTerminal();
      const quit = cm(t, ["console", "7"], a);
      await until(() => a.output.includes("node07 login: "), "history");
      a.keys("pi\r");
      await until(() => a.output.includes("Password: "), "the node answers typing");
      a.keys("\r~.");
      assert.equal((await quit).code, 0);
      assert.deepEqual(a.raw, [true, false]);

      const b = new FakeTerminal();
      const failing = cm(t, ["console", "7"], b);
      await until(() => b.raw.length === 1, "attached");
      b.failWrites = true;
      b.keys("x"); // the node echoes it: writing the echo fails
      assert.equal((await failing).code, 1);
      assert.deepEqual(b.raw, [true, false], "restored although the terminal failed");

      const c = new FakeTerminal();
      const signalled = cm(t, ["console", "7"], c);
      await until(() => c.stop !== null, "attached");
      c.stop!("SIGTERM");
      assert.equal((await signalled).code, 1);
      assert.deepEqual(c.raw, [true, false]);
      assert.ok(c.notices.some((n) => /SIGTERM: leaving the console/.test(n)));
      await until(() => t.hub.consoles.console(7).viewerCount === 0, "every session detached");
    });
  },
});

Deno.test({
  name: "cm console on a 0×0 pseudo-terminal attaches without a validation error",
  ...opts,
  fn: async () => {
    await withServedHub({}, async (t) => {
      await t.call("POST", "/api/v1/nodes/7/power", { state: "on" });
      const a = new FakeTerminal();
      a.window = { cols: 0, rows: 0 };
      const quit = cm(t, ["console", "7"], a);
      await until(() => a.output.includes("node07 login: "), "history");
      a.keys("pi\r");
      await until(() => a.output.includes("Password: "), "the node answers typing");
      a.keys("\r~.");
      const r = await quit;
      assert.equal(r.code, 0, r.err);
      const said = [...a.notices, r.err].join("\n");
      assert.doesNotMatch(said, /invalid|too_small|expected|resize/i, said);
    });
  },
});
