/**
 * Runs in the emulated Pi (bundled, on Deno for arm64): the installed hub started as its
 * systemd unit starts it (tests/kernel/guest/installed.ts: the unit's exact ExecStart, its
 * environment and working directory, CM_HUB_ARGS from /etc/cluster-hub/hub.env), restarted
 * like `systemctl restart cluster-hub` when its control port (4243) reads the line `restart`. Prints
 * `PI-HUB …` markers and the hub's output (prefixed `hub| `) on the console.
 */
import { type Service, startInstalledHub } from "../../kernel/guest/installed.ts";

const hubArgs = Deno.args[0] ?? "";
let hub: Service = startInstalledHub(hubArgs);
let printed = 0;
let restarting = false;
const watch = (h: Service) =>
  h.child.status.then((s) => {
    if (!restarting) console.log(`PI-HUB exited ${s.code}`);
  });
watch(hub);
const flush = () => {
  const text = hub.output();
  for (const line of text.slice(printed).split("\n").filter(Boolean)) console.log(`hub| ${line}`);
  printed = text.length;
};
const timer = setInterval(flush, 500);
console.log("PI-HUB started");

// `restart` arrives on a control port (4243, forwarded from the host's loopback by the test)
const control = Deno.listen({ hostname: "0.0.0.0", port: 4243 });
for await (const conn of control) {
  const buf = new Uint8Array(64);
  const n = await conn.read(buf).catch(() => null);
  const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
  if (line === "restart") {
    restarting = true;
    const code = await hub.stop("SIGTERM");
    flush();
    console.log(`PI-HUB stopped ${code}`);
    hub = startInstalledHub(hubArgs);
    restarting = false;
    watch(hub);
    printed = 0;
    console.log("PI-HUB restarted");
    await conn.write(new TextEncoder().encode("restarted\n")).catch(() => 0);
  }
  conn.close();
}
clearInterval(timer);
