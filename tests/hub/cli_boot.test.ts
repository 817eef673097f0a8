import assert from "node:assert/strict";
import { ApiClient } from "../../hub/cli/api_client.ts";
import type { CliContext } from "../../hub/cli/command.ts";
import { bootCommand } from "../../hub/cli/verbs/boot.ts";
import type { BootTimeline, NodeBoot } from "../../shared/boot_schemas.ts";

const ran: BootTimeline = {
  node: 3,
  attempt: 1,
  poweredOnAt: Date.UTC(2026, 11, 6, 5, 0, 0),
  netbootObserved: false,
  state: "running",
  stalledAt: null,
  stages: [
    { stage: "power_on", at: Date.UTC(2026, 11, 6, 5, 0, 0), detail: "rail on", inferred: false },
    { stage: "running", at: Date.UTC(2026, 11, 6, 5, 0, 9), detail: "heartbeat", inferred: false },
  ],
  tftp: [],
  endedAt: Date.UTC(2026, 11, 6, 5, 0, 9),
};

/** `cm boot 3` against a hub whose node 3 reads `actual` power, with one boot that ran. */
async function bootOf(actual: "on" | "off"): Promise<{ text: string; paths: string[] }> {
  const paths: string[] = [];
  const api = new ApiClient({ baseUrl: "http://hub.invalid" });
  api.request = <T>(_method: string, path: string): Promise<T> => {
    paths.push(path);
    const boot: NodeBoot = { node: 3, latest: ran, previous: null, quarantine: null, timeouts: {} };
    const node = { id: 3, power: { desired: actual, actual } };
    return Promise.resolve((path.endsWith("/boot") ? boot : node) as T);
  };
  const out: string[] = [];
  const c: CliContext = { api, args: ["3"], json: false, out: (l) => out.push(l), err: () => {} };
  assert.equal(await bootCommand.run(c), 0);
  return { text: out.join("\n"), paths };
}

Deno.test("cm boot: a boot that ran on a node now off is told as ended, not as running", async () => {
  const off = await bootOf("off");
  assert.deepEqual(off.paths, ["/nodes/3/boot", "/nodes/3"]);
  assert.match(off.text, /latest boot: attempt 1, .* — ran, then switched off/);
  assert.doesNotMatch(off.text, /— running/);
  const on = await bootOf("on");
  assert.match(on.text, /latest boot: attempt 1, .* — running/);
});
