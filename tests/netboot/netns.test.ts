/**
 * Real integration test: the REAL dnsmasq from Debian runs with the GENERATED config in a
 * network namespace ("hub", 10.42.0.250/24 on one end of a veth pair); busybox udhcpc,
 * nslookup and tftp run in a second namespace ("node") on the other end. All traffic stays
 * on that veth pair; dnsmasq forwards no DNS (no upstream servers). Needs root and
 * `ip netns`; skipped with a printed reason otherwise. Namespaces, veths and processes are
 * always removed.
 */
import assert from "node:assert/strict";
import {
  ensureNetbootDeps,
  must,
  PI_ROM_UDHCPC,
  sh,
  UDHCPC_TO_FILE,
  udhcpcInNode,
  waitForPidFile,
  withNetnsPair,
} from "./helpers.ts";
import { NetnsRunner } from "./netns_runner.ts";
import { defaultMap, eventRecorder, liveNetnsSettings, MemoryMacTable } from "./fixtures.ts";
import { NetbootSupervisor } from "../../hub/netboot/runtime/supervisor.ts";
import type { LearningTarget } from "../../hub/netboot/runtime/mac_learner.ts";
import { parseDnsmasqLine } from "../../hub/boot/dnsmasq_log.ts";

const deps = await ensureNetbootDeps();
const suffix = `${Deno.pid % 10000}${Math.floor(Math.random() * 1e4)}`.slice(0, 8);

/** Why the test cannot run here, or null. */
async function whyImpossible(): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root: network namespaces need CAP_SYS_ADMIN";
  if (!deps.dnsmasq || !deps.busybox || !deps.ip) return deps.note;
  const probe = `cmprobe${suffix}`;
  const add = await new Deno.Command(deps.ip, { args: ["netns", "add", probe], stderr: "piped" })
    .output();
  if (add.code !== 0) {
    return `ip netns add failed: ${new TextDecoder().decode(add.stderr).trim()}`;
  }
  await new Deno.Command(deps.ip, { args: ["netns", "del", probe] }).output();
  return null;
}

const skip = await whyImpossible();
if (skip) console.warn(`netns test skipped: ${skip}`);

Deno.test({
  name: "netns: real dnsmasq with generated config serves DHCP, DNS, TFTP and feeds MAC learning",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const ip = deps.ip!;
    const bb = deps.busybox!;
    const knownMac = "b8:27:eb:42:00:07";
    const newMac = "b8:27:eb:42:00:05";
    const pair = { tag: "cmn", nodeMac: knownMac, tmpPrefix: "cm-netns-", ip };
    await withNetnsPair(pair, async (env) => {
      const { hubNs, nodeNs, vethHub, vethNode, root } = env;
      const settings = liveNetnsSettings(root, vethHub, deps.dnsmasq!, {
        learningLeaseTime: "2m",
      });
      const bootFile = crypto.getRandomValues(new Uint8Array(3000));
      await Deno.mkdir(settings.paths.tftpRoot, { recursive: true });
      await Deno.writeFile(`${settings.paths.tftpRoot}/bootcode.bin`, bootFile);

      const macs = new MemoryMacTable();
      macs.set(7, knownMac); // a learned MAC: goes into dhcp-hosts
      const { events, emit } = eventRecorder();
      let target: LearningTarget | null = null;
      // iptables runs for real in the hub namespace (its own tables); an "admin" rule and a
      // Docker-like chain are there first and must survive our load
      const ipt = deps.iptables;
      const inHub = (args: string[]) => must(ip, ["netns", "exec", hubNs, ipt!, ...args]);
      if (ipt) {
        await inHub(["-A", "FORWARD", "-i", "cmadmin0", "-j", "ACCEPT"]);
        await inHub(["-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "-j", "MASQUERADE"]);
      } else console.warn(`netns test: iptables missing, NAT rules not loaded (${deps.note})`);
      const runner = new NetnsRunner(
        hubNs,
        ip,
        new Set(ipt ? ["iptables", "iptables-restore"] : []),
      );
      const logLines: string[] = [];
      const sup = env.own(
        new NetbootSupervisor({
          map: defaultMap,
          settings,
          macs,
          emit,
          runner,
          learningTarget: () => target,
          pollMs: 200,
          onLogLine: (l) => logLines.push(l),
        }),
      );
      await sup.start();
      await waitForPidFile(settings.paths.pidFile);
      assert.equal(sup.dnsmasqStatus().state, "running", sup.dnsmasqStatus().lastError ?? "");
      // host-wide reloads were recorded, not run on the host; iptables ran in the namespace
      assert.deepEqual([...new Set(runner.ran.map((c) => c[0]))].sort(), [
        "exportfs",
        "iptables",
        "iptables-restore",
        "sysctl",
      ]);
      const lastApply = (await sup.status()).lastApply!;
      assert.ok(
        lastApply.reloads.every((r) => r.ok),
        JSON.stringify(lastApply.reloads),
      );
      if (ipt) {
        // load again, as a restarted hub does: nothing duplicated, nothing of theirs lost
        const again = await new NetbootSupervisor({
          map: defaultMap,
          settings,
          macs,
          emit,
          runner,
        }).apply();
        assert.ok(again.reloads.find((r) => r.action === "iptables")?.ok, JSON.stringify(again));
        const filter = (await inHub(["-S", "FORWARD"])).stdout.trim().split("\n");
        assert.deepEqual(filter, [
          "-P FORWARD ACCEPT",
          "-A FORWARD -j CM-FORWARD",
          "-A FORWARD -i cmadmin0 -j ACCEPT",
        ]);
        const nat = (await inHub(["-t", "nat", "-S", "POSTROUTING"])).stdout.trim().split("\n");
        assert.deepEqual(nat, [
          "-P POSTROUTING ACCEPT",
          "-A POSTROUTING -j CM-POSTROUTING",
          "-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE",
        ]);
        const ours = (await inHub(["-S", "CM-FORWARD"])).stdout;
        assert.match(
          ours,
          new RegExp(`^-A CM-FORWARD -i ${vethHub} -o ${vethHub} -j ACCEPT$`, "m"),
        );
        assert.equal(ours.split("\n").filter((l) => l.startsWith("-A")).length, 5); // not doubled
        const masq = (await inHub(["-t", "nat", "-S", "CM-POSTROUTING"])).stdout;
        assert.match(masq, /^-A CM-POSTROUTING -s 10\.42\.0\.0\/24 -o cmnouplink0 -j MASQUERADE$/m);
      }

      const out = `${root}/udhcpc.out`;
      const piRom = PI_ROM_UDHCPC;
      // QEMU's iPXE NIC ROM: the same vendor class and arch, plus iPXE's option 175
      const ipxe = [...piRom, "-x", "0xaf:150101"];
      const dhcp = async (client = piRom) => {
        await Deno.remove(out).catch(() => {});
        // dnsmasq holds its OFFER to the ROM's class 2 s (dhcp-reply-delay): 8 tries of 1 s leave
        // room for a loaded machine; a lease ends the wait at once.
        const r = await udhcpcInNode(ip, bb, env, 8, [...client, ...UDHCPC_TO_FILE], {
          UDHCPC_OUT: out,
        });
        const text = await Deno.readTextFile(out).catch(() => "");
        assert.ok(text, `udhcpc got no lease: ${r.stderr}`);
        return Object.fromEntries(
          text.trim().split("\n").map((l) => l.split("=", 2) as [string, string]),
        );
      };
      const inNode = (args: string[]) => sh(ip, ["netns", "exec", nodeNs, bb, ...args]);

      // 1. the learned MAC gets its bay's address, the hub as router and DNS, and the Pi PXE option
      const lease = await dhcp();
      assert.equal(lease.ip, "10.42.0.7");
      assert.equal(lease.router, "10.42.0.250");
      assert.equal(lease.dns.trim(), "10.42.0.250");
      assert.equal(lease.domain, "cluster");
      const opt43 = lease.opt43.replace(/[^0-9a-f]/gi, "");
      assert.ok(
        opt43.toLowerCase().includes(
          [..."Raspberry Pi Boot"].map((c) => c.charCodeAt(0).toString(16)).join(""),
        ),
        `option 43 must carry "Raspberry Pi Boot", got ${lease.opt43}; env: ${await Deno
          .readTextFile(`${out}.env`)}`,
      );

      assert.equal(lease.bootFile, "", "the Pi ROM gets the PXE service, not a boot file");

      // 1b. an iPXE client with the same MAC gets the iPXE script and no Pi service
      await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
      const ipxeLease = await dhcp(ipxe);
      assert.equal(ipxeLease.ip, "10.42.0.7");
      assert.equal(ipxeLease.bootFile, "boot.ipxe");
      assert.equal(ipxeLease.siaddr, "10.42.0.250");
      assert.ok(
        !ipxeLease.opt43.replace(/[^0-9a-f]/gi, "").toLowerCase().includes(
          [..."Raspberry Pi Boot"].map((c) => c.charCodeAt(0).toString(16)).join(""),
        ),
        `iPXE must not get the Raspberry Pi service, got option 43 ${ipxeLease.opt43}`,
      );

      // 2. DNS for nodes, the switch and the hub, against 10.42.0.250 only
      for (
        const [name, want] of [["node07", "10.42.0.7"], ["node42.cluster", "10.42.0.42"], [
          "bonnie",
          "10.42.0.250",
        ], ["switch.cluster", "10.42.0.201"]]
      ) {
        const r = await inNode(["nslookup", name, "10.42.0.250"]);
        assert.match(
          r.stdout,
          new RegExp(`Address:?\\s+(\\d+: )?${want.replaceAll(".", "\\.")}\\b`),
          `${name}: ${r.stdout}${r.stderr}`,
        );
      }

      // 3. a boot file over TFTP
      const got = `${root}/got.bin`;
      const tftp = await inNode(["tftp", "-g", "-r", "bootcode.bin", "-l", got, "10.42.0.250"]);
      assert.equal(tftp.code, 0, tftp.stderr);
      assert.deepEqual(await Deno.readFile(got), bootFile);
      // dnsmasq's own log (log-dhcp, to stderr) reached the hub line by line, and the boot
      // timeline's parser reads this Pi's DHCP exchange and TFTP transfer from it.
      for (let i = 0; i < 20 && !logLines.some((l) => l.includes("bootcode.bin")); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const seen = logLines.map(parseDnsmasqLine).filter((s) => s !== null).map((s) =>
        "mac" in s ? `${s.kind} ${s.ip} ${s.mac}` : `${s.kind} ${s.path.split("/").pop()} ${s.ip}`
      );
      for (
        const want of [
          `dhcp_discover null ${knownMac}`,
          `dhcp_request 10.42.0.7 ${knownMac}`,
          `dhcp_ack 10.42.0.7 ${knownMac}`,
          "tftp_sent bootcode.bin 10.42.0.7",
        ]
      ) assert.ok(seen.includes(want), `${want} not in ${JSON.stringify(seen)}`);
      const script = `${root}/boot.ipxe`;
      const tftpScript = await inNode([
        "tftp",
        "-g",
        "-r",
        "boot.ipxe",
        "-l",
        script,
        "10.42.0.250",
      ]);
      assert.equal(tftpScript.code, 0, tftpScript.stderr);
      assert.match(
        await Deno.readTextFile(script),
        /^#!ipxe\n[^]*\nkernel tftp:\/\/10\.42\.0\.250\/vmlinuz /,
      );

      // 4. MAC learning: an unknown MAC right after bay 5 was "powered on"
      await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
      await must(ip, ["-n", nodeNs, "link", "set", vethNode, "down"]);
      await must(ip, ["-n", nodeNs, "link", "set", vethNode, "address", newMac]);
      await must(ip, ["-n", nodeNs, "link", "set", vethNode, "up"]);
      target = { node: 5, since: Date.now() };
      const asked = performance.now();
      const learning = await dhcp();
      // an unknown Pi's OFFER is held only the ROM's 2 s: dnsmasq's ping check (no-ping) would
      // add 3 s deaf to DHCP, and the OFFER would come when the ROM sends its next DISCOVER
      const took = performance.now() - asked;
      assert.ok(
        took < 5000,
        `the learning lease took ${took.toFixed(0)} ms (the ROM retries at 5 s)`,
      );
      const octet = Number(learning.ip.split(".")[3]);
      assert.ok(
        octet >= 100 && octet <= 149,
        `unknown MAC must get a learning-range lease, got ${learning.ip}`,
      );
      // the hook line reaches the events file; the watcher learns it and re-applies
      let decided: string[] = [];
      for (let i = 0; i < 40 && !macs.rows.has(5); i++) {
        decided = decided.concat((await sup.leaseWatcher.poll()).map((d) => d.kind));
        await new Promise((r) => setTimeout(r, 100));
      }
      const hook = await Deno.readTextFile(settings.paths.eventsFile).catch(() => "");
      assert.match(
        hook,
        new RegExp(`^\\d+ add ${newMac} ${learning.ip.replaceAll(".", "\\.")} `, "m"),
      );
      assert.equal(macs.rows.get(5), newMac, `decisions: ${decided.join(",")}`);
      target = null;
      assert.deepEqual(
        events.filter((e) => e.type.startsWith("mac_")).map((e) => [e.type, e.node]),
        [["mac_learned", 5]],
      );
      // Learning re-applies in the background: give the write a moment under load.
      const hostLine = new RegExp(`^${newMac},10\\.42\\.0\\.5,node05$`, "m");
      const hostsFile = `${settings.paths.configDir}/dhcp-hosts`;
      for (let i = 0; i < 50 && !hostLine.test(await Deno.readTextFile(hostsFile)); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(
        await Deno.readTextFile(hostsFile),
        hostLine,
      );
      // 5. after the SIGHUP, the same MAC now gets bay 5's address from the running dnsmasq
      assert.equal(sup.dnsmasqStatus().restarts, 0);
      await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
      const relearned = await dhcp();
      assert.equal(relearned.ip, "10.42.0.5");
      assert.equal(sup.dnsmasqStatus().restarts, 0, "reload by SIGHUP, not restart");
      const r = await inNode(["nslookup", "node05", "10.42.0.250"]);
      assert.match(r.stdout, /10\.42\.0\.5\b/);
      console.log(`netns test took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
  },
});
