/**
 * Preflight against REAL DHCP servers in network namespaces: the hub namespace runs our
 * dnsmasq (generated config) on one end of a veth pair; a ROGUE dnsmasq (another server with
 * its own range) runs in the second namespace on the other end. The probe — the hub's own
 * probe process, run inside the hub namespace — must pass while only ours is there, and fail
 * naming the rogue once it runs. Root and `ip netns` needed; skipped with a reason otherwise.
 */
import assert from "node:assert/strict";
import { ensureNetbootDeps, sh, waitForPidFile } from "./helpers.ts";
import { NetnsRunner } from "./netns_runner.ts";
import { defaultMap, eventRecorder, liveNetnsSettings, MemoryMacTable } from "./fixtures.ts";
import { NetbootSupervisor } from "../../hub/netboot/runtime/supervisor.ts";
import { Preflight } from "../../hub/preflight/preflight.ts";
import { realProbes } from "../../hub/preflight/probes.ts";
import { realClock } from "../../shared/clock.ts";
import { formatPreflight } from "../../hub/cli/verbs/preflight.ts";
import type { PreflightReport } from "../../shared/preflight_schemas.ts";

const SCRIPTS = new URL("../../scripts/netboot/", import.meta.url).pathname;
const deps = await ensureNetbootDeps();
const suffix = `${Deno.pid % 10000}${Math.floor(Math.random() * 1e4)}`.slice(0, 8);

async function whyImpossible(): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root: network namespaces need CAP_SYS_ADMIN";
  if (!deps.dnsmasq || !deps.ip) return deps.note;
  const probe = `cmpfp${suffix}`;
  const add = await sh(deps.ip, ["netns", "add", probe]);
  if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  await sh(deps.ip, ["netns", "del", probe]);
  return null;
}

const skip = await whyImpossible();
if (skip) console.warn(`preflight netns test skipped: ${skip}`);

Deno.test({
  name: "preflight netns: a rogue dnsmasq on the cluster LAN is caught; ours alone passes",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ip = deps.ip!;
    const hubNs = `cmpfh${suffix}`, rogueNs = `cmpfr${suffix}`;
    const vethHub = `cmph${suffix}`.slice(0, 15), vethRogue = `cmpr${suffix}`.slice(0, 15);
    const root = await Deno.makeTempDir({ prefix: "cm-preflight-" });
    let sup: NetbootSupervisor | null = null;
    let rogue: Deno.ChildProcess | null = null;
    try {
      const setup = await sh("sh", [
        `${SCRIPTS}netns-setup.sh`,
        hubNs,
        rogueNs,
        vethHub,
        vethRogue,
        "10.42.0.250/24",
        "b8:27:eb:66:66:66",
      ]);
      assert.equal(setup.code, 0, setup.stderr);
      const settings = liveNetnsSettings(root, vethHub, deps.dnsmasq!, {});
      await Deno.mkdir(settings.paths.tftpRoot, { recursive: true });
      // The probe process and `ip` run inside the hub namespace.
      const runner = new NetnsRunner(hubNs, ip, new Set([Deno.execPath(), "ip"]));
      sup = new NetbootSupervisor({
        map: defaultMap,
        settings,
        macs: new MemoryMacTable(),
        emit: eventRecorder().emit,
        runner,
      });
      await sup.start();
      await waitForPidFile(settings.paths.pidFile);
      const preflight = new Preflight({
        map: defaultMap,
        settings,
        mode: () => ({ mode: "live", reason: "test" }),
        netbootChecks: () => sup!.checks(),
        probes: realProbes(runner),
        clock: realClock,
        dhcpProbeMs: 4000,
      });
      const check = (r: PreflightReport, name: string) => r.checks.find((c) => c.name === name)!;

      // 1. Only our dnsmasq on the LAN: no other server answers.
      const first = await preflight.run();
      const alone = check(first, "rogue_dhcp");
      assert.equal(alone.status, "pass", JSON.stringify(alone));
      const addr = check(first, "hub_address");
      assert.equal(addr.status, "pass", JSON.stringify(addr));

      // 2. A rogue dnsmasq on the other end of the wire, handing out its own range.
      await sh(ip, ["-n", rogueNs, "addr", "add", "10.42.0.77/24", "dev", vethRogue]);
      rogue = new Deno.Command(ip, {
        args: [
          "netns",
          "exec",
          rogueNs,
          deps.dnsmasq!,
          "--keep-in-foreground",
          "--no-daemon",
          "--conf-file=/dev/null",
          "--port=0",
          `--interface=${vethRogue}`,
          "--bind-interfaces",
          "--dhcp-range=10.42.0.180,10.42.0.189,255.255.255.0,2m",
          `--dhcp-leasefile=${root}/rogue.leases`,
          `--pid-file=${root}/rogue.pid`,
          "--user=root",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      for (let i = 0; i < 50 && !(await Deno.stat(`${root}/rogue.pid`).catch(() => null)); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const report = await preflight.run();
      const caught = check(report, "rogue_dhcp");
      assert.equal(caught.status, "fail", JSON.stringify(caught));
      assert.match(
        caught.detail,
        /another DHCP server answers on .*: 10\.42\.0\.77 \(offered 10\.42\.0\.18\d\)/,
      );
      assert.match(caught.hint, /switch it off/);
      assert.equal(report.ok, false);
      console.log(formatPreflight(report));
      assert.match(report.summary, /preflight FAILED: .*\(.*rogue_dhcp.*\)/);
    } finally {
      try {
        rogue?.kill("SIGTERM");
        await rogue?.status;
      } catch { /* gone */ }
      await sup?.stop().catch(() => {});
      await sh("sh", [`${SCRIPTS}netns-teardown.sh`, hubNs, rogueNs]);
      await Deno.remove(root, { recursive: true }).catch(() => {});
      const left = (await sh(ip, ["netns", "list"])).stdout;
      assert.ok(!left.includes(hubNs) && !left.includes(rogueNs), `namespaces left: ${left}`);
    }
  },
});
