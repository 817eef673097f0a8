/** `cm console`'s escapes: `~.` after Enter quits, as in ssh; `~~` sends one `~`. */
import assert from "node:assert/strict";
import { EscapeReader } from "../../../hub/cli/console_escape.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function feed(r: EscapeReader, text: string) {
  const { send, commands } = r.feed(enc.encode(text));
  return { send: dec.decode(send), commands };
}

Deno.test("escape: ~. at the start of input or after Enter quits; elsewhere it is typed", () => {
  assert.deepEqual(feed(new EscapeReader(), "~."), { send: "", commands: ["quit"] });
  const r = new EscapeReader();
  assert.deepEqual(feed(r, "ls ~.\r"), { send: "ls ~.\r", commands: [] });
  assert.deepEqual(feed(r, "~"), { send: "", commands: [] }, "held back");
  assert.deepEqual(feed(r, ".ignored"), { send: "", commands: ["quit"] });
});

Deno.test("escape: ~~ sends one ~, ~t takes over, ~? helps, ~x sends both", () => {
  const r = new EscapeReader();
  assert.deepEqual(feed(r, "~~/x\r"), { send: "~/x\r", commands: [] });
  assert.deepEqual(feed(r, "~t"), { send: "", commands: ["takeover"] });
  assert.deepEqual(feed(r, "~?"), { send: "", commands: ["help"] });
  assert.deepEqual(feed(r, "~x"), { send: "~x", commands: [] });
  assert.deepEqual(feed(r, "\n~."), { send: "\n", commands: ["quit"] });
});
