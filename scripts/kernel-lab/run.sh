#!/bin/bash
# The kernel-in-the-loop suite: boots Debian's kernel under QEMU (TCG) with an initramfs holding
# the product AS INSTALLED (the agent by scripts/agent/install-agent.sh, the hub by
# scripts/hub/install-hub.sh, each started in the guest the way its unit starts it), gpio-sim,
# i2c-stub and the guest suite (tests/kernel/guest/), and prints the guest's console.
#   scripts/kernel-lab/run.sh [SECTIONS]      SECTIONS: all (default) or e.g. "gpio,agent"
# Exit 0 when the guest suite passed. Env: KERNEL_LAB_CACHE (default .cache/kernel-lab),
# QEMU_TIMEOUT (default 600 s), DENO (default: the deno running this, or deno on PATH).
set -euo pipefail
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KERNEL_LAB_CACHE:-$PROJ/.cache/kernel-lab}
SECTIONS=${1:-all}
DENO=${DENO:-$(command -v deno || true)}
[ -x "$DENO" ] || { echo "kernel-lab: set DENO to a deno binary" >&2; exit 1; }
export PATH="$(dirname "$DENO"):$PATH" # the installers call deno
T0=$(date +%s.%N)
lap() { awk -v a="$T0" -v b="$(date +%s.%N)" -v m="$*" 'BEGIN{printf "kernel-lab: %6.1f s %s\n", b-a, m}' >&2; }

command -v qemu-system-x86_64 >/dev/null || {
  echo "kernel-lab: qemu-system-x86_64 missing (scripts/test-deps.sh installs qemu-system-x86)" >&2
  exit 1
}
K=$("$PROJ/scripts/kernel-lab/prepare.sh" "$CACHE")
lap "kernel $(cat "$K/kernel-version") ready"

W=$CACHE/run
R=$W/root
rm -rf "$W" && mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,var/lib,lib/modules,lib/x86_64-linux-gnu,lib64,usr/bin,t}
cp "$K/busybox" "$R/bin/busybox"
cp "$K"/modules/*.ko "$R/lib/modules/"
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
for l in libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libgcc_s.so.1; do
  cp -L "/lib/x86_64-linux-gnu/$l" "$R/lib/x86_64-linux-gnu/"
done
cp "$DENO" "$R/usr/bin/deno"
echo kernel-lab >"$R/etc/hostname"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

# The product, installed by its own installers. One Deno binary in the image: the copies the
# installers place (the same file) become links to it, to keep the initramfs small.
# Node 17's own key (the shape `cm agent-key 17` prints): the agents take their node from it.
KEY=node17.kernel-lab-0123456789abcdefghijklmnopqrstuv
printf '%s\n' "$KEY" >"$W/agent-key"
sh "$PROJ/scripts/agent/install-agent.sh" --root "$R" --mode bundle --deno-binary "$DENO" \
  --hub http://127.0.0.1:4242 --key-file "$W/agent-key" --gpio-backend chardev >&2
ln -sf /usr/bin/deno "$R/opt/cluster-agent/deno"
# The Zero W image: a root of its own with the sh agent, entered with chroot in the guest.
Z=$R/zero
mkdir -p "$Z"/{bin,proc,sys,dev,tmp,run,etc}
sh "$PROJ/scripts/agent/install-agent.sh" --root "$Z" --mode sh --hub http://127.0.0.1:4242 \
  --key-file "$W/agent-key" >&2
cp "$K/busybox" "$Z/bin/busybox" # init.sh installs its applets inside the chroot
CM_BIN_DIR=/usr/bin sh "$PROJ/scripts/hub/install-hub.sh" --root "$R" --deno-binary "$DENO" >&2
ln -sf /usr/bin/deno "$R/opt/cluster-hub/bin/deno"
# Deno caches transpiled modules by absolute path: warm them where the guest runs the hub, as
# install-hub.sh's `deno cache` does on a real hub (a private mount namespace: the host's /opt
# is not touched).
unshare -m sh -c "mount --bind '$R/opt' /opt && cd /opt/cluster-hub && DENO_DIR=/opt/cluster-hub/.deno \
  '$DENO' run --cached-only --allow-all /opt/cluster-hub/hub/main.ts --help >/dev/null" ||
  echo "kernel-lab: could not warm the hub's cache (the guest hub starts slower)" >&2
lap "product installed"

# The guest suite, bundled; fixtures and the PID 1 script.
(cd "$PROJ" && "$DENO" bundle -q --platform deno -o "$R/t/suite.js" tests/kernel/guest/suite.ts)
for board in pi3b+ pi0w; do
  mkdir -p "$R/t/fixtures/$board" && cp "$PROJ/tests/fixtures/pi/$board/proc/cpuinfo" "$R/t/fixtures/$board/"
done
cp "$PROJ/tests/kernel/guest/init.sh" "$R/init" && chmod +x "$R/init"
(cd "$R" && find . | "$K/busybox" cpio -o -H newc 2>/dev/null) >"$W/initrd.cpio"
lap "initramfs $(du -m "$W/initrd.cpio" | cut -f1) MiB"

# TCG only: KVM is unusable on these machines (-cpu host dies on MSR 0x10a).
set +e
timeout "${QEMU_TIMEOUT:-600}" qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg}" -cpu "${QEMU_CPU:-max}" -smp 2 -m 3072 -nographic \
  -no-reboot -nodefaults -serial stdio -kernel "$K/vmlinuz" -initrd "$W/initrd.cpio" \
  -append "console=ttyS0 quiet panic=-1 SECTIONS=$SECTIONS" </dev/null | sed -u 's/\r$//' | tee "$W/console.log"
set -e
lap "guest stopped"
grep -q '^@@ RESULT rc=0' "$W/console.log"
