/**
 * `deno task demo:netboot [NODES]`: one or two virtual nodes (QEMU guests, default 1) boot
 * from a real hub over the network, watched from the dashboard. Everything runs in a network
 * namespace (scripts/lib/netboot_lab.ts): the hub with its own dnsmasq, TFTP and NFS
 * (nfs-ganesha), bays 1..NODES as QEMU guests (the `qemu` power driver) booting the node image
 * from scripts/image/ (built on first use, about 2 minutes). A veth pair makes the dashboard
 * reachable from this machine at http://10.43.0.2:4242/. `cm macs learn` powers the bays on
 * one at a time and learns their MACs; then the demo prints each node's state until Ctrl-C
 * (or, with --until-running, until every node runs), and tears everything down.
 * Needs root (namespaces, taps, mmdebstrap) and the packages scripts/test-deps.sh installs.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NetbootLab } from "./lib/netboot_lab.ts";
import type { NodeStatus } from "../shared/schemas.ts";

const PROJ = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = Deno.args.filter((a) => a !== "--until-running");
const untilRunning = Deno.args.includes("--until-running");
const count = Number(args[0] ?? "1");
if (!(count === 1 || count === 2) || args.length > 1) {
  console.error(
    "usage: deno task demo:netboot [1|2] [--until-running]   (virtual nodes, default 1)",
  );
  Deno.exit(2);
}
if (Deno.uid() !== 0) {
  console.error("demo:netboot needs root (network namespaces, tap devices, mmdebstrap)");
  Deno.exit(2);
}
const t0 = performance.now();
const at = () => `+${((performance.now() - t0) / 1000).toFixed(0)}s`;
const say = (l: string) => console.log(`demo:netboot ${at()} ${l}`);
const nodes = count === 1 ? [1] : [1, 2];
const lab = await NetbootLab.start({
  dir: `${PROJ}/.cache/netboot-lab/demo-${Deno.pid}`,
  ns: `cmdemo${Deno.pid % 100000}`,
  nodes,
  hostVeth: `cmdemo${Deno.pid % 100000}`.slice(0, 13) + "h",
  log: say,
});
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say("stopping the guests, the hub and the namespace");
  await lab.stop();
  Deno.exit(code);
};
Deno.addSignalListener("SIGINT", () => stop(130));
Deno.addSignalListener("SIGTERM", () => stop(143));

console.log(`
  dashboard:  http://10.43.0.2:4242/     (admin token: ${lab.token})
  consoles:   ${nodes.map((n) => lab.consoleLog(n)).join("  ")}
  hub log:    ${lab.hubLog}
  cm:         ip netns exec ${lab.o.ns} deno task cm --hub ${lab.hubUrl} --token ${lab.token} status
`);
say(`cm macs learn ${nodes.join(",")}: powering the bays on one at a time`);
const learn = await lab.cm(["macs", "learn", nodes.join(",")]);
say(`${(learn.stdout || learn.stderr).trim().split("\n").at(-1)}`);
if (learn.code !== 0) await stop(1);

const last = new Map<number, string>();
for (;;) {
  const states = await Promise.all(
    nodes.map(async (n) => (await lab.api("GET", `/nodes/${n}`)).body as NodeStatus),
  );
  for (const s of states) {
    const line = s.agent
      ? `${s.lifecycle} (agent: ${s.agent.identity.hostname} ${s.agent.identity.mac}, ` +
        `${Math.round(s.agent.health.memTotalBytes / 2 ** 20)} MiB, up ${
          s.agent.health.uptimeSeconds.toFixed(0)
        } s)`
      : s.lifecycle;
    if (last.get(s.id)?.split(" ")[0] !== line.split(" ")[0]) say(`node ${s.id}: ${line}`);
    last.set(s.id, line);
  }
  if (untilRunning && states.every((s) => s.lifecycle === "running")) await stop(0);
  await new Promise((r) => setTimeout(r, 1000));
}
