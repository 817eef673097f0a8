/**
 * The hub listens before it has read its rails (main.ts: a SIGTERM meanwhile still stops it
 * gracefully), so commands can arrive while `start()` reads them. Found in the Pi lab
 * (docs/pi-lab.md): a `macs learn` 9 s after start powered bay 1 on while the qemu driver was
 * still reading the rails; the restore then saw bay 1 drift, could not own it (the learn job
 * did), and the conflict ended the hub. Now such commands are refused with 503 `not_ready`
 * until the rails are read, and the hub starts.
 */
import assert from "node:assert/strict";
import { createHub } from "../../hub/hub.ts";
import type { PowerSwitch } from "../../hub/power/power_switch.ts";
import { SimulatedModule } from "../../hub/power/simulated_module.ts";
import { realClock } from "../../shared/clock.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import type { PowerState } from "../../shared/schemas.ts";
import { testSettings } from "../support/test_hub.ts";

/**
 * A module whose rail reads hang until `release()` from bay 2 on, and whose switch-ons hang
 * the same way: like the qemu driver, which reads a pid file per bay and takes seconds to start
 * a guest, so a command can act between two reads.
 */
class SlowModule implements PowerSwitch {
  readonly name = "slow";
  readonly #sim = new SimulatedModule({
    map: buildNodeMap({ nodeCount: 48 }),
    clock: realClock,
    settleMs: 1,
  });
  #release = () => {};
  readonly #held = new Promise<void>((r) => (this.#release = r));
  readonly readsStarted = Promise.withResolvers<void>();

  release(): void {
    this.#release();
  }

  async read(node: number): Promise<PowerState> {
    if (node >= 2) {
      this.readsStarted.resolve();
      await this.#held;
    }
    return await this.#sim.read(node);
  }

  async set(node: number, state: PowerState): Promise<void> {
    if (state === "on") await this.#held;
    await this.#sim.set(node, state);
  }

  close(): Promise<void> {
    return this.#sim.close();
  }
}

Deno.test("hub start: power commands and runs while the rails are read get 503, and the hub starts", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-start-race-" });
  const power = new SlowModule();
  const hub = createHub(testSettings(dataDir, { nodeCount: 48 }), {
    power,
    sequencer: { stepMs: 1, cycleOffMs: 5 },
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await hub.app.request(`/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${hub.token.value}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    const started = hub.start().then(() => "started", (e: Error) => `failed: ${e.message}`);
    await power.readsStarted.promise;

    const learn = await call("POST", "/macs/learn", { nodes: "1", timeoutMs: 60_000 });
    assert.equal(learn.status, 503, JSON.stringify(learn.body));
    assert.equal(learn.body.error.code, "not_ready");
    assert.match(learn.body.error.message, /the hub is starting/);
    for (
      const [path, body] of [
        ["/nodes/1/power", { state: "on" }],
        ["/power", { state: "off", nodes: "1-48" }],
        ["/testall", {}],
      ] as const
    ) {
      const r = await call("POST", path, body);
      assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.body)}`);
    }

    power.release();
    assert.equal(await started, "started", "the hub starts");
    // once started, the same request is taken
    const after = await call("POST", "/macs/learn", { nodes: "1", timeoutMs: 100 });
    assert.equal(after.status, 202, JSON.stringify(after.body));
    await hub.jobs.wait(after.body.id);
  } finally {
    power.release();
    await hub.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
