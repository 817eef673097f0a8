/**
 * The hub as a process under HTTP/2 cleartext: a client that cuts an h2c stream, an h2c upgrade,
 * and an idle h2c stream cut by the gate's request timeout each leave the hub running. Before
 * `info.completed` was handled, the first one ended the process with "Uncaught (in promise)
 * Interrupted: HTTP response was not sent successfully".
 */
import assert from "node:assert/strict";
import { hubProcessArgs } from "../../support/hub_process_args.ts";

const curl = new Deno.Command("sh", { args: ["-c", "command -v curl"] }).outputSync().success;

async function curlRun(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("curl", {
    args,
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) };
}

Deno.test({
  name: "h2c: cut and idle HTTP/2 streams (prior knowledge and Upgrade: h2c) leave the hub up",
  ignore: !curl,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cm-h2c-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: hubProcessArgs(dir, ["--request-timeout-ms", "1500"]),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    try {
      let out = "";
      let url = "";
      while (!url) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the hub exited before listening:\n${out}\n${await stderr}`);
        out += value;
        url = out.match(/on (http:\/\/[^\s]+)/)?.[1] ?? "";
      }
      const drained = (async () => {
        for (;;) {
          const { value, done } = await lines.read();
          if (done) return out;
          out += value;
        }
      })();
      const events = `${url}/api/v1/events`;
      // Streams the client cuts (what `timeout 3 curl -N` did; whether the client or the gate's
      // timeout cuts first depends on the machine's load, and either one ended the hub), and an
      // HTTP/1.1 upgrade to h2c.
      await curlRun(["-s", "-N", "--http2-prior-knowledge", "-m", "1", events]);
      await curlRun(["-s", "-N", "--http2", "-m", "1", events]);
      // An h2c stream the client keeps open is cut by the gate's request timeout (1.5 s here).
      const t0 = performance.now();
      const idle = await curlRun(["-s", "-N", "--http2-prior-knowledge", "-m", "15", events]);
      assert.match(idle.out, /retry: 2000/, "the event stream was served over h2c");
      assert.notEqual(idle.code, 28, `the gate did not cut the stream: curl ${idle.code}`);
      assert.ok(performance.now() - t0 < 14_000);
      await new Promise((r) => setTimeout(r, 500));
      if (exited) assert.fail(`the hub exited:\n${await stderr}`);
      const health = await curlRun(["-s", "-m", "5", `${url}/api/v1/health`]);
      assert.match(health.out, /"status":"ok"/);
      child.kill("SIGTERM");
      assert.equal((await status).code, 0);
      assert.match(await drained, /hub: stopped/);
    } finally {
      if (!exited) child.kill("SIGKILL");
      await status;
      const err = await stderr;
      assert.doesNotMatch(err, /Uncaught/, err);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
