/**
 * scripts/image/cm-overlay.sh, the node's per-node state at boot, run as the unit runs it but in a
 * private mount namespace, chrooted into a small image tree (the host's /usr bound in): /var/lib
 * holding a dpkg database, apt's and systemd's state, the agent's key placeholder, and the hub's
 * export of the node's overlay. The one stand-in is the NFS server: `mount -t nfs HUB:/PATH` binds
 * the tree's /exports/PATH (a `mount` earlier in PATH); every other mount is the real one.
 *
 * Checked: the first boot seeds what a node writes and not the package manager's state (the
 * dpkg database was 767 of the image's 833 files under /var/lib, each file several NFS round
 * trips); the image's dpkg database is still visible, read-only; the node's writes land in its
 * export; the node's key is bound over the placeholder; a second boot reuses the seed; a seed
 * cut short by a power-off is redone.
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("../../scripts/image/cm-overlay.sh", import.meta.url).pathname;

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const skip = Deno.uid() !== 0 ? "not root (mount namespaces and chroot need it)" : null;
if (skip) console.warn(`cm-overlay tests skipped: ${skip}`);

/** The NFS server's stand-in: `mount -t nfs -o OPTS HUB:/PATH DIR` binds /exports/PATH. */
const NFS_MOUNT = `#!/bin/sh
if [ "$1" = -t ] && [ "$2" = nfs ]; then
  echo "$3 $4" >>/exports/.mounts
  exec /usr/bin/mount --bind "/exports\${5#*:}" "$6"
fi
exec /usr/bin/mount "$@"
`;

/** A small image tree in `t`: the files the test looks for, the export of node 1's overlay. */
async function imageTree(t: string): Promise<void> {
  for (const d of ["proc", "dev", "run", "tmp", "cm/state", "shim", "usr", "home/pi"]) {
    await Deno.mkdir(`${t}/${d}`, { recursive: true });
  }
  for (const l of ["bin", "sbin", "lib", "lib64"]) await Deno.symlink(`usr/${l}`, `${t}/${l}`);
  const files: Record<string, string> = {
    "var/lib/dpkg/status": "Package: systemd\nStatus: install ok installed\n",
    "var/lib/dpkg/info/systemd.list": "/usr/lib/systemd/systemd\n",
    "var/lib/dpkg/info/busybox.list": "/usr/bin/busybox\n",
    "var/lib/apt/extended_states": "",
    "var/lib/shells.state": "/bin/sh\n",
    "var/lib/systemd/catalog/database": "catalog",
    "var/lib/nfs/state": "statd",
    "var/lib/.hidden": "dot file",
    "home/pi/.profile": "profile",
    "etc/cluster-agent/key": "",
    "exports/pxe/overlay/node01/agent-key": "node 1's own key\n",
    "cmdline":
      "console=ttyAMA0 root=/dev/nfs ro cm.node=1 cm.overlay=10.42.0.250:/pxe/overlay/node01\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${t}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${t}/${path}`, text);
  }
  await Deno.writeTextFile(`${t}/shim/mount`, NFS_MOUNT, { mode: 0o755 });
  await Deno.copyFile(SCRIPT, `${t}/cm-overlay`);
}

/**
 * Boots the tree once: cm-overlay as the unit runs it, then `check` (a shell script) in the
 * same namespace; their output.
 */
async function boot(t: string, check: string) {
  const inner = `set -e
mount --bind /usr "$0/usr"
mount -t proc proc "$0/proc"
mount --bind "$0/cmdline" "$0/proc/cmdline"
mount --bind /dev "$0/dev"
mount -t tmpfs run "$0/run"
chroot "$0" /usr/bin/env -i PATH=/shim:/usr/sbin:/usr/bin /bin/sh /cm-overlay
echo "--- check"
chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin /bin/sh -c "$1"
`;
  return await run("unshare", ["-m", "--propagation", "private", "sh", "-c", inner, t, check]);
}

Deno.test({
  name: "cm-overlay: seeds what a node writes, binds the image's dpkg database back read-only",
  ignore: skip !== null,
  async fn() {
    const t = await Deno.makeTempDir({ prefix: "cm-overlay-" });
    try {
      await imageTree(t);
      const state = `${t}/exports/pxe/overlay/node01`;
      const first = await boot(
        t,
        `cat /var/lib/dpkg/status /var/lib/dpkg/info/busybox.list /var/lib/shells.state
         if sh -c ": >/var/lib/dpkg/status" 2>/dev/null; then echo "dpkg writable"; fi
         if touch /var/lib/dpkg/new 2>/dev/null; then echo "dpkg writable"; fi
         echo written >/var/lib/systemd/random-seed
         echo mine >/home/pi/notes
         cat /etc/cluster-agent/key`,
      );
      assert.equal(first.code, 0, first.stderr + first.stdout);
      const [said, seen] = first.stdout.split("--- check\n");
      assert.match(
        said,
        /cm-overlay: \/var\/lib seeded \(3 entries; the image's dpkg apt ucf pam python shells\.state, read-only\)/,
      );
      assert.match(said, /\/etc\/cluster-agent\/key is this node's own agent key/);
      assert.match(said, /10\.42\.0\.250:\/pxe\/overlay\/node01 mounted at \/cm\/state/);
      assert.equal(
        await Deno.readTextFile(`${t}/exports/.mounts`),
        "-o vers=3,tcp,nolock,noacl,rw\n",
      );
      // the node sees the image's package database, and cannot change it
      assert.match(seen, /Package: systemd/);
      assert.match(seen, /\/usr\/bin\/busybox/);
      assert.match(seen, /^\/bin\/sh$/m);
      assert.doesNotMatch(seen, /dpkg writable/);
      assert.match(seen, /node 1's own key/);
      // what the node writes is its own, in its export; the package state was not copied
      const entries = async (p: string) =>
        (await Array.fromAsync(Deno.readDir(p))).map((e) => e.name).sort();
      assert.deepEqual(await entries(`${state}/var-lib`), [
        ".hidden",
        "apt",
        "dpkg",
        "nfs",
        "shells.state",
        "systemd",
      ]);
      assert.deepEqual(await entries(`${state}/var-lib/dpkg`), [], "dpkg's files are not copied");
      assert.deepEqual(await entries(`${state}/var-lib/apt`), []);
      assert.equal(await Deno.readTextFile(`${state}/var-lib/shells.state`), "");
      assert.equal(await Deno.readTextFile(`${state}/var-lib/nfs/state`), "statd");
      assert.equal(await Deno.readTextFile(`${state}/var-lib/systemd/random-seed`), "written\n");
      assert.equal(await Deno.readTextFile(`${state}/home/pi/notes`), "mine\n");
      // the image itself is untouched
      assert.equal(
        await Deno.readTextFile(`${t}/var/lib/dpkg/status`),
        "Package: systemd\nStatus: install ok installed\n",
      );
      assert.equal(await Deno.stat(`${t}/var/lib/systemd/random-seed`).catch(() => null), null);

      // the next boot keeps the node's state and seeds nothing
      const second = await boot(t, "cat /var/lib/systemd/random-seed /var/lib/dpkg/status");
      assert.equal(second.code, 0, second.stderr + second.stdout);
      assert.doesNotMatch(second.stdout, /seeded/);
      assert.match(second.stdout, /^written$/m);
      assert.match(second.stdout, /Package: systemd/);

      // a seed cut short (switched off while seeding) is done again, whole
      await Deno.remove(`${state}/home`, { recursive: true });
      await Deno.mkdir(`${state}/home.seeding/half`, { recursive: true });
      const third = await boot(t, "ls -a /home");
      assert.equal(third.code, 0, third.stderr + third.stdout);
      assert.match(third.stdout, /cm-overlay: \/home seeded \(1 entries\)/);
      assert.deepEqual(await entries(`${state}/home`), ["pi"]);
      assert.equal(await Deno.stat(`${state}/home.seeding`).catch(() => null), null);
    } finally {
      await Deno.remove(t, { recursive: true });
    }
  },
});
