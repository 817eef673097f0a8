/**
 * `deno task demo`: the whole 60-node bootstrap on one machine in compressed time. A hub on
 * the simulated module, a virtual node agent per powered bay, `cm bootstrap` with its
 * progress bar, then `cm status`. Pass a time scale (default 0.05: 2:30 becomes ~10 s).
 */
import { runCli } from "../hub/cli/main.ts";
import { startVirtualHub } from "./lib/virtual_hub.ts";

const scale = Number(Deno.args[0] ?? "0.05");
if (!(scale > 0 && scale <= 1)) {
  console.error("usage: deno task demo [TIME_SCALE]   (0 < TIME_SCALE <= 1, default 0.05)");
  Deno.exit(2);
}
const v = await startVirtualHub(scale);
console.log(`demo: hub on ${v.url} (dashboard there too), time scale ${scale}`);
const env = (n: string) =>
  ({ CM_HUB: v.url, CM_TOKEN: v.hub.token.value } as Record<string, string>)[n];
const t0 = Date.now();
const code = await runCli(["bootstrap"], undefined, env, true);
const took = (Date.now() - t0) / 1000;
console.log(
  `demo: bootstrap took ${took.toFixed(1)} s (≈ ${
    (took / scale).toFixed(0)
  } s on the vendor's timeline, with 30 s Pi boots)`,
);
await runCli(["status"], undefined, env);
await v.close();
Deno.exit(code);
