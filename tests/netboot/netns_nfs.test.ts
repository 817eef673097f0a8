/**
 * Real integration test of the nfs-ganesha backend: the supervisor, with `nfsServer:
 * "ganesha"`, renders ganesha.conf and runs rpcbind and ganesha.nfsd (and dnsmasq) as its own
 * children inside a network namespace ("hub", 10.42.0.250), each seeing a private `/run`.
 * From a second namespace ("node") the NFS and MOUNT services answer on 10.42.0.250 over TCP,
 * which is what a node's NFSv3 root mount asks first. (This machine's kernel has no NFS client,
 * so the mount itself is proven by the QEMU end-to-end test.) Needs root, `ip netns`,
 * rpcbind and nfs-ganesha; skipped with a printed reason otherwise.
 */
import assert from "node:assert/strict";
import { ensureNetbootDeps, sh, withNetnsPair } from "./helpers.ts";
import { NetnsRunner } from "./netns_runner.ts";
import { defaultMap, eventRecorder, liveNetnsSettings, MemoryMacTable } from "./fixtures.ts";
import { NetbootSupervisor } from "../../hub/netboot/runtime/supervisor.ts";

const deps = await ensureNetbootDeps();

function why(): string | null {
  if (Deno.uid() !== 0) return "not root: network namespaces need CAP_SYS_ADMIN";
  if (!deps.dnsmasq || !deps.ip) return deps.note;
  if (!deps.rpcbind || !deps.ganesha || !deps.rpcinfo) return deps.note;
  return null;
}
const skip = why();
if (skip) console.warn(`netns NFS test skipped: ${skip}`);

Deno.test({
  name: "netns: the supervisor runs rpcbind and nfs-ganesha with the config it renders",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ip = deps.ip!;
    const pair = { tag: "cmf", nodeMac: "52:54:00:42:00:07", tmpPrefix: "cm-netns-nfs-" };
    await withNetnsPair(pair, async (env) => {
      const { hubNs, nodeNs, vethHub, vethNode, root } = env;
      // the node side gets its bay's address by hand: this test is not about DHCP
      const addr = await sh(ip, ["-n", nodeNs, "addr", "add", "10.42.0.7/24", "dev", vethNode]);
      assert.equal(addr.code, 0, addr.stderr);
      const settings = liveNetnsSettings(root, vethHub, deps.dnsmasq!, {
        nfsServer: "ganesha",
        rpcbindBinary: deps.rpcbind!,
        ganeshaBinary: deps.ganesha!,
        overlays: true,
      });
      await Deno.mkdir(settings.paths.tftpRoot, { recursive: true });
      await Deno.mkdir(settings.paths.nfsRoot, { recursive: true });
      const privateRun = `${root}/run-private`;
      await Deno.mkdir(privateRun);
      const runner = new NetnsRunner(hubNs, ip, new Set(["rpcinfo"]), privateRun);
      const { events, emit } = eventRecorder();
      const sup = env.own(
        new NetbootSupervisor({
          map: defaultMap,
          settings,
          macs: new MemoryMacTable(), // no learned MACs: this test is about NFS
          emit,
          runner,
        }),
      );
      await sup.start();
      const conf = await Deno.readTextFile(settings.paths.ganeshaConfig);
      assert.match(conf, new RegExp(`Path = ${settings.paths.nfsRoot};`));
      // the exports file of the kernel server is not written, and exportfs never runs
      assert.equal(await Deno.stat(settings.paths.exportsFile).catch(() => null), null);
      assert.ok(!runner.ran.some((c) => c[0] === "exportfs"), JSON.stringify(runner.ran));

      // from the node's namespace: NFS (100003) and MOUNT (100005) v3 answer over TCP
      const ask = (prog: string) =>
        sh(ip, ["netns", "exec", nodeNs, deps.rpcinfo!, "-T", "tcp", "10.42.0.250", prog, "3"]);
      let mount = await ask("100005");
      for (let i = 0; i < 100 && mount.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        mount = await ask("100005");
      }
      const stderrs = sup.nfsServices().map((p) => `${p.name}: ${p.state} ${p.lastError ?? ""}`);
      assert.equal(mount.code, 0, `MOUNT v3 never answered: ${mount.stderr}; ${stderrs}`);
      assert.match(mount.stdout, /program 100005 version 3 ready and waiting/);
      const nfs = await ask("100003");
      assert.equal(nfs.code, 0, nfs.stderr);
      assert.deepEqual(sup.nfsServices().map((p) => [p.name, p.state]), [
        ["rpcbind", "running"],
        ["ganesha", "running"],
      ]);
      const checks = await sup.checks();
      assert.equal(checks.nfs.state, "ok", checks.nfs.detail);
      const rows = (await sup.services()).services.map((r) => r.name);
      assert.deepEqual(rows, ["dnsmasq", "rpcbind", "ganesha", "nfs", "nat"]);
      assert.ok(
        events.some((e) => e.type === "service_state" && e.message === "ganesha running"),
        JSON.stringify(events.map((e) => e.message)),
      );
      // nothing of it reached the host's /run
      assert.equal(await Deno.stat("/run/rpcbind.sock").catch(() => null), null);

      await sup.stop();
      const left = (await sh(ip, ["netns", "pids", hubNs])).stdout.trim();
      assert.equal(left, "", "rpcbind, ganesha and dnsmasq exit with the supervisor");
    });
  },
});
