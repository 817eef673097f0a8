/**
 * The hub as a process under HTTP/2 cleartext: a client that cuts an h2c stream, an h2c upgrade,
 * and an h2c stream held past the gate's request timeout each leave the hub running. Before
 * `info.completed` was handled, the first one ended the process with "Uncaught (in promise)
 * Interrupted: HTTP response was not sent successfully"; no rejection is left for the
 * process-level policy to catch either.
 */
import assert from "node:assert/strict";
import { HubProcess } from "../../support/hub_process.ts";

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
    const hub = await HubProcess.start(dir, ["--request-timeout-ms", "1500"]);
    try {
      const events = `${hub.url}/api/v1/events`;
      // Streams the client cuts (what `timeout 3 curl -N` did; whether the client or the gate's
      // timeout cuts first depends on the machine's load, and either one ended the hub), and an
      // HTTP/1.1 upgrade to h2c.
      await curlRun(["-s", "-N", "--http2-prior-knowledge", "-m", "1", events]);
      await curlRun(["-s", "-N", "--http2", "-m", "1", events]);
      // A stream the client keeps open past the gate's request timeout (1.5 s here): the gate
      // may cut it first, or curl does (whether the gate sees its bytes as a new request
      // depends on the timing of the stream's frames).
      const idle = await curlRun(["-s", "-N", "--http2-prior-knowledge", "-m", "3", events]);
      assert.match(idle.out, /retry: 2000/, "the event stream was served over h2c");
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(hub.alive(), `the hub exited:\n${hub.output}`);
      const health = await curlRun(["-s", "-m", "5", `${hub.url}/api/v1/health`]);
      assert.match(health.out, /"status":"ok"/);
      // Not even a caught stray: the process-level policy (docs/faults.md) would keep the hub up
      // and count the rejection here.
      const metrics = await (await hub.fetch("/metrics")).text();
      assert.match(
        metrics,
        /^cluster_unexpected_faults_total\{module="[^"]*",kind="rejection"\} 0$/m,
      );
      assert.equal(await hub.stop(), 0);
      assert.match(hub.output, /hub: stopped/);
      assert.doesNotMatch(hub.output, /Uncaught/, hub.output);
    } finally {
      await hub.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
