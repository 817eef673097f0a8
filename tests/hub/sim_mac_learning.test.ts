/**
 * MAC learning on the simulated module, as a new user meets it: the hub process with its
 * virtual cluster, `cm macs learn 1-2` learns the MACs the simulated boots ask DHCP with, and
 * `cm macs` and the node JSON show them; learned bays are left on (booting with their address),
 * a bay that never asked ends as it was before.
 */
import assert from "node:assert/strict";
import { virtualMac } from "../../hub/virtual/virtual_cluster.ts";
import { NodeStatus } from "../../shared/schemas.ts";
import { HubProcess } from "../support/hub_process.ts";
import { runCm } from "../support/cm.ts";

function cm(url: string, args: string[]) {
  return runCm(args, { CM_HUB: url, CM_TOKEN: "T", CM_DATA_DIR: "/nonexistent" });
}

async function node(url: string, id: number): Promise<NodeStatus> {
  return NodeStatus.parse(await (await fetch(`${url}/api/v1/nodes/${id}`)).json());
}

Deno.test("cm macs learn on the simulated module learns the MACs its boots ask DHCP with", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-sim-macs-" });
  const hub = await HubProcess.start(dir, ["--sim-boot-ms", "400", "--heartbeat-ms", "200"], {
    agents: true,
  });
  try {
    // Node 1 runs before; node 2 is off.
    let r = await cm(hub.url, ["power", "1", "on"]);
    assert.equal(r.code, 0, r.err);
    r = await cm(hub.url, ["macs", "learn", "1-2", "--yes"]);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    // Node 1's own boot may have been learned already (its DHCP lease, seen while it was on).
    assert.match(r.out, /^learned (2 of 2|1 of 1)$/m);
    r = await cm(hub.url, ["macs"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^1\\s+node01\\s+10\\.42\\.0\\.1\\s+${virtualMac(1)}$`, "m"));
    assert.match(r.out, new RegExp(`^2\\s+node02\\s+10\\.42\\.0\\.2\\s+${virtualMac(2)}$`, "m"));
    const [n1, n2] = [await node(hub.url, 1), await node(hub.url, 2)];
    assert.equal(n1.mac, "02:42:0a:2a:00:01");
    assert.equal(n2.mac, "02:42:0a:2a:00:02");
    assert.deepEqual([n1.power.actual, n2.power.actual], ["on", "on"], "learned: left on");
    // A bay whose Pi never asks (a Zero W bay has no LAN: it is not learned at all).
    r = await cm(hub.url, ["macs", "learn", "17"]);
    assert.equal(r.code, 1, "nothing to learn there is an error, not exit 0");
    assert.match(r.err, /every LAN bay in 17 already has a MAC/);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.doesNotMatch(hub.output, /cannot append/);
});
