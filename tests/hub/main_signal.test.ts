/** The hub as a process: SIGTERM mid-bootstrap stops the run like a cancel before exiting. */
import assert from "node:assert/strict";
import { SqliteStore } from "../../hub/store/sqlite_store.ts";
import { hubProcessArgs } from "../support/hub_process_args.ts";

Deno.test("main: SIGTERM during a bootstrap stops it like a cancel, then the hub exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-hub-main-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: hubProcessArgs(dir),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    let url = "";
    while (!url) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the hub exited before listening:\n${out}\n${await stderr}`);
      out += value;
      url = out.match(/on (http:\/\/[^\s]+)/)?.[1] ?? "";
    }
    const res = await fetch(`${url}/api/v1/bootstrap`, {
      method: "POST",
      headers: { authorization: "Bearer T", "content-type": "application/json" },
      body: JSON.stringify({ nodes: "1-4" }),
    });
    assert.equal(res.status, 202);
    const job = await res.json();
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    assert.equal(status.code, 0, `${out}\n${await stderr}`);
    assert.match(out, /hub: stopped/);
    const store = new SqliteStore(`${dir}/hub.sqlite`);
    try {
      const stored = store.job(job.id);
      assert.equal(stored?.state, "failed");
      assert.equal(stored?.errorCode, "cancelled", stored?.error ?? "");
      assert.match(stored?.error ?? "", /the bootstrap .*was stopped because the hub stopped/);
    } finally {
      store.close();
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  }
});
