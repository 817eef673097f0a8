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
import { PI_LAB_DIR } from "../../scripts/pi-lab/kernel.ts";
import { piLabTest, skipUnlessLab } from "./_lab.ts";

const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("Pi lab (netboot initramfs)", board);

piLabTest(
  "pi 3B+ netboot initramfs: the lease comes at once (not after a 10 s retry), root attrs cached",
  { skip, board, run: "initramfs" },
  async ({ log, boot }) => {
    // QEMU's user net: its DHCP server is 10.0.2.2, which serves no NFS
    const guest = await boot(
      `${PI_LAB_DIR}/netboot-init.sh`,
      "root=/dev/nfs nfsroot=10.0.2.2:/none,vers=3,tcp ro ip=dhcp",
      { net: { kind: "user" } },
    );
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
  },
);
