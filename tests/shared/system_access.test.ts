/**
 * Deno's refusal of /proc, /sys and /dev (a process without --allow-all) is a fault naming the
 * fix, never "file absent": checked in child processes started with the flags that used to
 * ship (the agent wrapper's, `deno task hub`'s) and with --allow-all.
 */
import assert from "node:assert/strict";
import { OLD_AGENT_WRAPPER_FLAGS } from "../support/old_launch_flags.ts";

const MODULE = new URL("../../shared/system_access.ts", import.meta.url).href;
const MODE = new URL("../../hub/netboot/runtime/mode.ts", import.meta.url).href;
const AGENT = new URL("../../node-agent/main.ts", import.meta.url).pathname;

/** Runs `code` in a child `deno run` with `flags` (eval would grant everything). */
async function child(flags: string[], code: string) {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(file);
  }
}

const READ = `
  import { readSystemText } from "${MODULE}";
  try {
    const t = await readSystemText("/proc/uptime");
    console.log(t === undefined ? "absent" : "read");
    console.log((await readSystemText("/proc/no-such-file")) === undefined ? "absent" : "read");
  } catch (e) {
    console.log(e.name + ": " + e.message);
  }`;

Deno.test("readSystemText: --allow-read alone is refused with a message naming --allow-all", async () => {
  const r = await child(["--allow-read"], READ);
  assert.match(r.out, /^SystemAccessError: Deno refused access to \/proc\/uptime: .*--allow-all/);
  assert.match(r.out, /docs\/permissions\.md/);
});

Deno.test("readSystemText: with --allow-all a file is read and an absent one is undefined", async () => {
  const r = await child(["--allow-all"], READ);
  assert.equal(r.out, "read\nabsent\n", r.err);
});

Deno.test("netboot mode probe: a refused /proc/device-tree/model is a fault, not 'not a Pi'", async () => {
  const probe = `
    import { realHostProbe } from "${MODE}";
    try {
      console.log(String(realHostProbe.isRaspberryPi()));
    } catch (e) {
      console.log(e.name + ": " + e.message);
    }`;
  const narrow = await child(["--allow-read", "--allow-sys"], probe);
  assert.match(narrow.out, /^SystemAccessError: .*\/proc\/device-tree\/model.*--allow-all/);
  const all = await child(["--allow-all"], probe);
  assert.match(all.out, /^(true|false)\n$/, all.err); // this machine's answer, not an error
});

Deno.test("agent with the wrapper's old flags exits with the fix named, not 'model unknown'", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...OLD_AGENT_WRAPPER_FLAGS,
      AGENT,
      "--key",
      "k",
      "--hub",
      "http://127.0.0.1:9",
    ],
    signal: AbortSignal.timeout(30_000), // a swallowed refusal would run on: killed, it fails
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0);
  assert.match(err, /Deno refused access to \/proc\/cmdline: .*--allow-all/);
  assert.doesNotMatch(err, /model unknown/);
});
