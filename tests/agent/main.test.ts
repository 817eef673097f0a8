/** The agent as a process: --sim against a real HTTP fake hub, stopped by SIGTERM. */
import assert from "node:assert/strict";
import { realClock } from "../../shared/clock.ts";
import { FakeHub } from "./fake_hub.ts";

const MAIN = new URL("../../node-agent/main.ts", import.meta.url).pathname;
const FIXTURE = new URL("../fixtures/pi/pi3b+", import.meta.url).pathname;

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await realClock.sleep(50);
}

Deno.test("main: a --sim agent reports to the hub and exits 0 on SIGTERM", async () => {
  const hub = new FakeHub(realClock);
  const server = hub.serve();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "--sim",
      "--hub",
      server.url,
      "--key",
      hub.key,
      "--model",
      "pi0w",
      "--hostname",
      "node24",
      "--root",
      FIXTURE,
      "--interval-ms",
      "200",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor(() => hub.accepted.length >= 2, 30_000);
    assert.ok(hub.accepted.length >= 2, "two heartbeats arrived");
    const id = hub.accepted[0].identity;
    assert.deepEqual([id.model, id.hostname, id.node], ["pi0w", "node24", 7]);
  } finally {
    child.kill("SIGTERM");
    const [status, err] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      child.stdout.cancel(),
    ]);
    await server.close();
    assert.equal(status.code, 0, err);
    assert.match(err, /SIGTERM: turning the LED off and releasing GPIO 21/);
  }
});

Deno.test("main: no key is exit 2 with a clear message", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--sim", "--root", root],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /no agent key/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
