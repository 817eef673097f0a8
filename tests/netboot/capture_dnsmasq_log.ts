/**
 * Captures REAL dnsmasq log output for the boot-timeline parser's fixture
 * (`tests/fixtures/dnsmasq/pxe-boot.log`): Debian's dnsmasq runs with the generated config
 * (`log-dhcp`, log to stderr) in a network namespace, and busybox in a second namespace plays
 * two Pis: a learned one (DHCP with the boot ROM's PXE options, then TFTP of the boot files
 * and of one that is missing) and an unknown one that gets no lease (no learning range). Every
 * line dnsmasq writes is saved as it came, through the supervisor's `onLogLine`.
 *
 * Run as root: `deno task netboot:capture-log [OUT]`. The netns test checks the same
 * pipeline live; this script only refreshes the fixture.
 */
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

/** The MACs and the files the capture uses (the parser test checks against these). */
export const CAPTURE = {
  knownMac: "b8:27:eb:42:00:07",
  knownIp: "10.42.0.7",
  unknownMac: "b8:27:eb:42:00:05",
  files: ["bootcode.bin", "start.elf", "fixup.dat"],
  missing: "kernel8.img",
} as const;

/** Runs the capture; returns dnsmasq's log lines. */
export async function captureDnsmasqLog(): Promise<string[]> {
  if (Deno.uid() !== 0) throw new Error("not root: network namespaces need CAP_SYS_ADMIN");
  const deps = await ensureNetbootDeps();
  if (!deps.dnsmasq || !deps.busybox || !deps.ip) throw new Error(deps.note);
  const ip = deps.ip, bb = deps.busybox, dnsmasq = deps.dnsmasq;
  const lines: string[] = [];
  const pair = { tag: "cmc", nodeMac: CAPTURE.knownMac, tmpPrefix: "cm-capture-" };
  await withNetnsPair(pair, async (env) => {
    const { hubNs, nodeNs, vethHub, vethNode, root } = env;
    const settings = liveNetnsSettings(root, vethHub, dnsmasq, {
      learningRange: null, // an unknown MAC gets no lease: the "never gets a lease" bay
    });
    await Deno.mkdir(settings.paths.tftpRoot, { recursive: true });
    for (const f of CAPTURE.files) {
      await Deno.writeFile(`${settings.paths.tftpRoot}/${f}`, new Uint8Array(2000).fill(7));
    }
    const macs = new MemoryMacTable();
    macs.set(7, CAPTURE.knownMac);
    const sup = env.own(
      new NetbootSupervisor({
        map: defaultMap,
        settings,
        macs,
        emit: eventRecorder().emit,
        runner: new NetnsRunner(hubNs, ip),
        onLogLine: (l) => lines.push(l),
      }),
    );
    await sup.start();
    await waitForPidFile(settings.paths.pidFile);
    const udhcpc = (tries: number) =>
      udhcpcInNode(ip, bb, env, tries, [...PI_ROM_UDHCPC, ...UDHCPC_TO_FILE], {
        UDHCPC_OUT: `${root}/udhcpc.out`,
      });
    const lease = await udhcpc(4);
    if (lease.code !== 0) throw new Error(`the known Pi got no lease: ${lease.stderr}`);
    for (const f of [...CAPTURE.files, CAPTURE.missing]) {
      await sh(ip, [
        "netns",
        "exec",
        nodeNs,
        bb,
        "tftp",
        "-g",
        "-r",
        f,
        "-l",
        `${root}/got-${f}`,
        "10.42.0.250",
      ]);
    }
    // The unknown Pi: no dhcp-hosts line and no learning range, so it never gets a lease.
    await must(ip, ["-n", nodeNs, "addr", "flush", "dev", vethNode]);
    await must(ip, ["-n", nodeNs, "link", "set", vethNode, "down"]);
    await must(ip, ["-n", nodeNs, "link", "set", vethNode, "address", CAPTURE.unknownMac]);
    await must(ip, ["-n", nodeNs, "link", "set", vethNode, "up"]);
    await udhcpc(2);
    await new Promise((r) => setTimeout(r, 300)); // let the last lines drain
  });
  return lines;
}

if (import.meta.main) {
  const out = Deno.args[0] ??
    new URL("../fixtures/dnsmasq/pxe-boot.log", import.meta.url).pathname;
  const lines = await captureDnsmasqLog();
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(out, lines.join("\n") + "\n");
  console.log(`wrote ${lines.length} dnsmasq log lines to ${out}`);
}
