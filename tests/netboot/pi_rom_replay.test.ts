/**
 * The Raspberry Pi 3B+ boot ROM's netboot conversation, replayed against the hub's REAL
 * dnsmasq (Debian's, with the generated config, started by the netboot supervisor as the hub
 * starts it) in a network namespace; the client (`pi_rom/rom_client.ts`) runs in a second
 * namespace and speaks on a packet socket as the ROM does (docs/pi-rom.md). The TFTP root
 * holds what the arm64 image serves: raspi-firmware's files and the kernel package's device
 * trees laid out by `scripts/image/pi-boot-files.sh` (the packages are Debian's own, fetched
 * once into `.cache/pi-packages/`), the kernel as `vmlinuz`, an initramfs, and the hub's
 * rendered config.txt and cmdline.txt; it is put there after the hub started, as an image
 * installed on a running hub is. Root only; skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import {
  ensureNetbootDeps,
  must,
  sh,
  udhcpcInNode,
  waitForPidFile,
  withNetnsPair,
} from "./helpers.ts";
import { NetnsRunner } from "./netns_runner.ts";
import { defaultMap, eventRecorder, liveNetnsSettings, MemoryMacTable } from "./fixtures.ts";
import { BOOT_DIR_RELINK_MS, NetbootSupervisor } from "../../hub/netboot/runtime/supervisor.ts";
import { parseDnsmasqLine } from "../../hub/boot/dnsmasq_log.ts";
import { dtbCandidates, PI3BPLUS_DTB, readConfigTxt } from "../../hub/preflight/pi_boot_files.ts";
import { PI_BOOT_SERVICE, ROM_VENDOR_CLASS } from "./pi_rom/wire.ts";
import { sha256Hex } from "./pi_rom/tftp_client.ts";
import { checkTftpRoot } from "../../hub/preflight/checks.ts";
import { realProbes } from "../../hub/preflight/probes.ts";

const PROJ = new URL("../../", import.meta.url).pathname;
const SCRIPTS = `${PROJ}scripts/netboot/`;
const deps = await ensureNetbootDeps();

function whyImpossible(): string | null {
  if (Deno.uid() !== 0) return "not root: network namespaces and packet sockets need it";
  if (!deps.dnsmasq || !deps.ip) return deps.note;
  return null;
}
const skip = whyImpossible();
if (skip) console.warn(`Pi ROM replay skipped: ${skip}`);

/** One step the client printed. */
// deno-lint-ignore no-explicit-any
type Step = { step: string; at: number; [k: string]: any };

/** Debian's raspi-firmware and arm64 kernel, unpacked (fetched once). */
async function piPackages(): Promise<string> {
  const r = await must("sh", [
    `${SCRIPTS}fetch-pi-packages.sh`,
    `${PROJ}.cache/pi-packages`,
    "raspi-firmware",
    "linux-image-arm64",
  ]);
  return r.stdout.trim();
}

/** The TFTP root the arm64 image gives the hub (scripts/image/build.sh's boot files). */
async function layTftpRoot(tftpRoot: string): Promise<void> {
  const root = await piPackages();
  await must("sh", [`${PROJ}scripts/image/pi-boot-files.sh`, root, tftpRoot]);
  const kernel = [...Deno.readDirSync(`${root}/boot`)].find((e) => e.name.startsWith("vmlinuz-"));
  assert.ok(kernel, `no vmlinuz-* in ${root}/boot`);
  await Deno.copyFile(`${root}/boot/${kernel.name}`, `${tftpRoot}/vmlinuz`);
  // the image's initramfs is built with the image; any bytes do for the transfer
  await Deno.writeFile(`${tftpRoot}/initrd.img`, crypto.getRandomValues(new Uint8Array(65536)));
}

Deno.test({
  name: "Pi 3B+ ROM replay: the hub's real dnsmasq serves every file the ROM and firmware ask for",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const ip = deps.ip!;
    const mac = "b8:27:eb:42:00:07";
    const serial = "8e42a007";
    await withNetnsPair({ tag: "cmr", nodeMac: mac, tmpPrefix: "cm-pirom-" }, async (env) => {
      const { hubNs, nodeNs, vethHub, vethNode, root } = env;
      const settings = liveNetnsSettings(root, vethHub, deps.dnsmasq!, {
        configTxt: true,
        overlays: true,
      });
      await Deno.mkdir(settings.paths.tftpRoot, { recursive: true });
      const macs = new MemoryMacTable();
      macs.set(7, mac);
      const { emit } = eventRecorder();
      const log: { at: number; line: string }[] = [];
      const sup = env.own(
        new NetbootSupervisor({
          map: defaultMap,
          settings,
          macs,
          emit,
          runner: new NetnsRunner(hubNs, ip),
          pollMs: 200,
          onLogLine: (line) => log.push({ at: performance.now(), line }),
        }),
      );
      await sup.start();
      await waitForPidFile(settings.paths.pidFile);
      assert.equal(sup.dnsmasqStatus().state, "running", sup.dnsmasqStatus().lastError ?? "");
      // the image goes into the TFTP root while the hub runs (`deno task image --out /`); the
      // node's own boot dir (overlays: tftp-unique-root) gets it within BOOT_DIR_RELINK_MS
      await layTftpRoot(settings.paths.tftpRoot);
      // the preflight's TFTP root check sees the image as complete (the same files the ROM gets)
      const listing = await realProbes(new NetnsRunner(hubNs, ip)).listDir(settings.paths.tftpRoot);
      const tftpCheck = checkTftpRoot(settings.paths.tftpRoot, listing);
      assert.equal(tftpCheck.status, "pass", tftpCheck.detail);
      const nodeDir = `${settings.paths.tftpRoot}/10.42.0.7`;
      const linked = performance.now() + BOOT_DIR_RELINK_MS + 5000;
      while (!(await Deno.lstat(`${nodeDir}/vmlinuz`).catch(() => null))) {
        if (performance.now() > linked) break; // the client then reports what is missing
        await new Promise((r) => setTimeout(r, 200));
      }

      /** Runs the ROM client in the node's namespace; its steps. */
      const rom = async (m: string, ser: string, ...extra: string[]) => {
        const r = await sh(ip, [
          ...["netns", "exec", nodeNs, Deno.execPath(), "run", "--allow-all"],
          ...[`${PROJ}tests/netboot/pi_rom/rom_client.ts`, vethNode, m, ser, ...extra],
        ]);
        assert.equal(r.code, 0, `client failed: ${r.stderr}\n${r.stdout}`);
        const steps = r.stdout.trim().split("\n").filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Step);
        return { steps, out: r.stdout };
      };
      const { steps, out } = await rom(mac, serial);
      const done = steps.at(-1)!;
      assert.equal(done.step, "done", out);

      // DHCP: one DISCOVER, answered with the node's address and "Raspberry Pi Boot"
      const discovers = steps.filter((s) => s.step === "dhcp_discover" && s.by === "rom");
      const offer = steps.find((s) => s.step === "dhcp_offer" && s.by === "rom");
      assert.ok(offer, `no OFFER: ${out}`);
      assert.equal(discovers.length, 1, "the first DISCOVER is answered");
      assert.equal(offer.yiaddr, "10.42.0.7");
      assert.equal(offer.serverId, "10.42.0.250");
      assert.ok(offer.piBoot, `option 43 lacks "${PI_BOOT_SERVICE}": ${offer.option43}`);
      // dhcp-reply-delay (raspberrypi/firmware#934): not at once, but within the ROM's 5 s
      assert.ok(offer.delayMs >= 2000, `OFFER after ${offer.delayMs} ms, not held 2 s`);
      assert.ok(offer.delayMs < 5000, "the OFFER comes within the ROM's 5 s retry interval");

      // TFTP: every file the ROM and the firmware ask for, in order, as the hub holds it
      const tftp = steps.filter((s) => s.step === "tftp");
      const result = (f: string) => tftp.find((s) => s.file === f)?.result;
      assert.deepEqual(tftp.slice(0, 3).map((s) => `${s.file} ${s.result}`), [
        "bootcode.bin ok",
        "bootsig.bin not_found",
        `${serial}/start.elf not_found`,
      ]);
      const served = `${settings.paths.tftpRoot}/10.42.0.7`;
      const cfgText = await Deno.readTextFile(`${served}/config.txt`);
      const cfg = readConfigTxt(cfgText);
      const dtb = dtbCandidates(cfg)[0];
      const required = [
        "bootcode.bin",
        "config.txt",
        "start.elf",
        "fixup.dat",
        "cmdline.txt",
        cfg.kernel,
        dtb,
        ...(cfg.initramfs ? [cfg.initramfs] : []),
      ];
      for (const f of required) {
        assert.equal(result(f), "ok", `${f} was not served: ${JSON.stringify(tftp)}`);
        const got = tftp.find((s) => s.file === f)!;
        assert.equal(
          got.sha256,
          await sha256Hex(await Deno.readFile(`${served}/${f}`)),
          `${f} arrived changed`,
        );
      }
      assert.equal(dtb, PI3BPLUS_DTB.upstream, "the 3B+ loads Debian's (mainline) device tree");
      assert.match(await Deno.readTextFile(`${served}/cmdline.txt`), /cm\.node=7 /);

      // dnsmasq: DISCOVER and OFFER, never a REQUEST or ACK; TFTP sent and "not found"
      const signals = log.map((l) => parseDnsmasqLine(l.line)).filter((s) => s !== null);
      const dhcp = signals.filter((s) => "mac" in s && s.mac === mac).map((s) => s.kind);
      assert.ok(dhcp.includes("dhcp_discover") && dhcp.includes("dhcp_offer"), dhcp.join());
      assert.ok(!dhcp.includes("dhcp_request") && !dhcp.includes("dhcp_ack"), dhcp.join());
      assert.ok(
        log.some((l) => l.line.includes(`vendor class: ${ROM_VENDOR_CLASS}`)),
        "dnsmasq saw the ROM's vendor class",
      );
      // A serial-number directory: once <serial>/start.elf exists, the firmware reads every
      // later file from under <serial>/ (here a small kernel of its own), through node 7's
      // boot dir (its link to the shared <serial>/ directory)
      const serialDir = `${settings.paths.tftpRoot}/${serial}`;
      await Deno.mkdir(serialDir);
      for (const f of ["start.elf", "fixup.dat", "cmdline.txt", PI3BPLUS_DTB.upstream]) {
        await Deno.copyFile(`${served}/${f}`, `${serialDir}/${f}`);
      }
      await Deno.writeTextFile(
        `${serialDir}/config.txt`,
        "arm_64bit=1\nupstream_kernel=1\nkernel=kernel8.img\n",
      );
      await Deno.writeFile(
        `${serialDir}/kernel8.img`,
        crypto.getRandomValues(new Uint8Array(9000)),
      );
      const serialLinked = performance.now() + BOOT_DIR_RELINK_MS + 5000;
      while (!(await Deno.lstat(`${nodeDir}/${serial}`).catch(() => null))) {
        if (performance.now() > serialLinked) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
      const bySerial = await rom(mac, serial, "--no-second-dhcp");
      const serialTftp = bySerial.steps.filter((s) => s.step === "tftp");
      assert.deepEqual(
        serialTftp.slice(2).map((s) => `${s.file} ${s.result}`),
        [
          `${serial}/start.elf exists`,
          `${serial}/config.txt ok`,
          `${serial}/start.elf ok`,
          `${serial}/fixup.dat ok`,
          `${serial}/cmdline.txt ok`,
          `${serial}/kernel8.img ok`,
          `${serial}/${PI3BPLUS_DTB.upstream} ok`,
        ],
        bySerial.out,
      );
      for (const s of serialTftp.slice(3)) {
        assert.equal(s.sha256, await sha256Hex(await Deno.readFile(`${served}/${s.file}`)));
      }
      // A Pi the hub has not learned: the ROM gets a learning-range address and boots from
      // the shared root, but its DISCOVER-only DHCP makes no lease, so dnsmasq runs no
      // dhcp-script: the hub can learn its MAC only from the kernel's own DHCP later.
      const unknownMac = "b8:27:eb:42:00:05";
      await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
      await must(ip, ["-n", nodeNs, "link", "set", vethNode, "address", unknownMac]);
      const unknown = await rom(unknownMac, "9e42a005", "--dhcp-only");
      const unknownOffer = unknown.steps.find((s) => s.step === "dhcp_offer");
      assert.ok(unknownOffer, `no OFFER for an unknown Pi: ${unknown.out}`);
      const octet = Number(unknownOffer.yiaddr.split(".")[3]);
      assert.ok(octet >= 100 && octet <= 149, `learning range, got ${unknownOffer.yiaddr}`);
      await new Promise((r) => setTimeout(r, 500));
      const leases = await Deno.readTextFile(settings.paths.leaseFile).catch(() => "");
      const hook = await Deno.readTextFile(settings.paths.eventsFile).catch(() => "");
      assert.ok(!leases.includes(unknownMac), `a lease without a REQUEST? ${leases}`);
      assert.ok(!hook.includes(unknownMac), `the hook ran without a lease? ${hook}`);
      // iPXE sends the same vendor class plus option 175: its OFFER is not held
      if (deps.busybox) {
        const before = log.length;
        const ipxe = await udhcpcInNode(ip, deps.busybox, env, 4, [
          ...["-s", "/bin/true", "-V", ROM_VENDOR_CLASS, "-x", "0xaf:150101"],
        ]);
        assert.equal(ipxe.code, 0, `iPXE-like udhcpc got no lease: ${ipxe.stderr}`);
        const lines = log.slice(before).map((l) => l.line);
        const xid = lines.map((l) => / (\d+) tags: .*\bipxe\b/.exec(l)?.[1]).find((x) => x);
        assert.ok(xid, `dnsmasq did not tag the iPXE client: ${lines.join("\n")}`);
        assert.ok(!lines.some((l) => l.includes(`${xid} reply delay`)), lines.join("\n"));
      }
      // `CM_CAPTURE_PI_ROM_LOG=FILE` saves dnsmasq's lines (the boot supervision test's fixture)
      const capture = Deno.env.get("CM_CAPTURE_PI_ROM_LOG");
      if (capture) await Deno.writeTextFile(capture, log.map((l) => l.line).join("\n") + "\n");
      console.log(
        `Pi ROM replay took ${((performance.now() - t0) / 1000).toFixed(1)} s; dnsmasq said:\n` +
          log.map((l) => l.line).filter((l) => / DHCP|tftp|vendor class|reply delay/.test(l))
            .join("\n"),
      );
    });
  },
});
