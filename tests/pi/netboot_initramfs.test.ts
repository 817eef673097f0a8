/**
 * The node image's initramfs (scripts/pi-lab/netboot-init.sh, built by initramfs.sh as the image
 * builds it) on an emulated 3B+, against a DHCP server that answers at once (QEMU's user net):
 * its lease comes within 3 s of the network interface appearing. klibc's ipconfig, started
 * while the link was still coming up, failed its first DISCOVER and waited 10 s to send the next:
 * 10 s of every node's boot. The root is mounted with its attributes cached (read only: nocto
 * and an hour); there is no NFS server here, so the boot ends at that mount.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import { PiGuest } from "../../scripts/pi-lab/guest.ts";
import { buildInitramfs, PI_LAB_DIR, prepareKernel } from "../../scripts/pi-lab/kernel.ts";
import { secs, skipUnlessLab, workDir } from "./_lab.ts";

const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("Pi lab (netboot initramfs)", board);

Deno.test({
  name:
    "pi 3B+ netboot initramfs: the lease comes at once (not after a 10 s retry), root attrs cached",
  ignore: skip,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t0 = performance.now();
    const log = (l: string) => console.log(`[pi initramfs +${secs(t0)}s] ${l}`);
    const dir = await workDir("initramfs");
    const k = await prepareKernel(board.arch);
    await buildInitramfs(k, `${PI_LAB_DIR}/netboot-init.sh`, `${dir}/initrd.gz`);
    let guest: PiGuest | null = null;
    let ok = false;
    try {
      guest = await PiGuest.start({
        board,
        dir,
        kernel: k.vmlinuz,
        dtb: k.dtb(board),
        initrd: `${dir}/initrd.gz`,
        // QEMU's user net: its DHCP server is 10.0.2.2, which serves no NFS
        append: "root=/dev/nfs nfsroot=10.0.2.2:/none,vers=3,tcp ro ip=dhcp",
        net: { kind: "user" },
      });
      const at = (m: RegExpMatchArray) => Number(m[1]);
      const dhcp = await guest.waitForConsole(
        /\[\s*([\d.]+)\] cm-initramfs: DHCP on (\S+)/,
        120_000,
      );
      const lease = await guest.waitForConsole(
        /\[\s*([\d.]+)\] cm-initramfs: \S+ is (10\.0\.2\.\d+)/,
        60_000,
      );
      const waited = at(lease) - at(dhcp);
      log(`${dhcp[2]}: "${dhcp[0].trim()}", lease ${lease[2]} ${waited.toFixed(2)} s later`);
      assert.ok(waited <= 3, `the lease came ${waited.toFixed(2)} s after the DHCP client started`);
      // the read-only root keeps its attributes (no GETATTR round trip at every open), and the
      // options of nfsroot= come after, as given
      const mount = await guest.waitForConsole(
        /cm-initramfs: mounting 10\.0\.2\.2:\/none \((.*)\)/,
        60_000,
      );
      log(mount[0].trim());
      assert.equal(
        mount[1],
        "ro,nolock,nocto,acregmin=3600,acregmax=3600,acdirmin=3600,acdirmax=3600,vers=3,tcp",
      );
      ok = true;
    } finally {
      if (!ok && guest) console.error(`console tail:\n${(await guest.console()).slice(-3000)}`);
      await guest?.stop();
      if (ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
