/** The hub as a process given an address it cannot listen on: one line naming it, no trace. */
import assert from "node:assert/strict";
import { hubProcessArgs } from "../support/hub_process_args.ts";

Deno.test("main: --host an address this machine lacks is named in one line (exit 1, nothing created)", async () => {
  const parent = await Deno.makeTempDir({ prefix: "cm-hub-listen-" });
  const dir = `${parent}/data`;
  try {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails at once, nothing is sent.
    const r = await new Deno.Command(Deno.execPath(), {
      args: hubProcessArgs(dir, ["--host", "192.0.2.1"]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, err);
    assert.match(
      err,
      /^hub: cannot start: cannot listen on 192\.0\.2\.1 port 0 \(--host, --port\): /,
    );
    assert.equal(err.trim().split("\n").length, 1, `one line: ${err}`);
    assert.doesNotMatch(err, /\bat .*\.ts:\d+/, "no stack trace");
    // The port is taken first: a hub that cannot listen creates no data directory or secrets.
    assert.ok(!await Deno.stat(dir).then(() => true, () => false), "no data directory");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
