#!/bin/bash
# Prepares, once per kernel ABI, what the kernel-in-the-loop suite boots: Debian's current
# amd64 kernel (its ABI read from apt, not pinned), the stock modules it needs (configfs,
# i2c-dev, i2c-stub), gpio-sim.ko built out of tree from Debian's own linux-source (gpio-sim is
# enabled in no Debian kernel) and busybox-static. Nothing is installed into the host but
# qemu-system-x86 (by scripts/test-deps.sh). Prints the directory holding the result.
#   scripts/kernel-lab/prepare.sh [CACHE_DIR]       (default .cache/kernel-lab)
set -euo pipefail
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${1:-$PROJ/.cache/kernel-lab}
mkdir -p "$CACHE"
say() { echo "kernel-lab: $*" >&2; }

# The ABI of linux-image-amd64 and the version of its package; refresh the lists once if the
# package the metapackage names cannot be found (stale lists on a reused machine).
resolve() {
  KV=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n 1)
  [ -n "$KV" ] || return 1
  KPKGV=$(apt-cache show "linux-image-$KV" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
  [ -n "$KPKGV" ] || return 1
  KSER=$(echo "$KV" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
  apt-cache show "linux-source-$KSER=$KPKGV" >/dev/null 2>&1
}
resolve || { apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || true; resolve; } ||
  { say "cannot resolve Debian's amd64 kernel and matching linux-source from apt"; exit 1; }
OUT=$CACHE/$KV
if [ -e "$OUT/.ready" ]; then echo "$OUT"; exit 0; fi
say "preparing kernel $KV ($KPKGV) in $OUT"
rm -rf "$OUT" && mkdir -p "$OUT/debs" "$OUT/x" "$OUT/mod" "$OUT/modules"
download() {
  (cd "$OUT/debs" && apt-get download -q "linux-image-$KV=$KPKGV" "linux-headers-$KV=$KPKGV" \
    "linux-headers-${KV%-amd64}-common=$KPKGV" "linux-kbuild-$KSER=$KPKGV" \
    "linux-source-$KSER=$KPKGV" busybox-static 2>&1 | grep -v -e unsandboxed -e '^Get:' >&2)
  [ "$(ls "$OUT/debs" | wc -l)" -ge 6 ]
}
# Lists that resolve but are older than the mirror give 404s: refresh once and resolve again.
download || {
  say "download failed; refreshing the package lists"
  apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || true
  resolve || { say "cannot resolve the kernel packages after apt-get update"; exit 1; }
  OUT=$CACHE/$KV && rm -rf "$OUT" && mkdir -p "$OUT/debs" "$OUT/x" "$OUT/mod" "$OUT/modules"
  download || { say "cannot download the kernel packages"; exit 1; }
}
for d in "$OUT"/debs/linux-headers-*.deb "$OUT"/debs/linux-kbuild-*.deb "$OUT"/debs/busybox-static_*.deb; do
  dpkg-deb -x "$d" "$OUT/x"
done
K=./lib/modules/$KV/kernel
dpkg-deb --fsys-tarfile "$OUT"/debs/linux-image-"$KV"_*.deb | tar -x -C "$OUT/x" "./boot/vmlinuz-$KV" \
  $K/fs/configfs/configfs.ko $K/drivers/i2c/i2c-dev.ko $K/drivers/i2c/i2c-stub.ko
sed -i "s|include /usr/src/|include $OUT/x/usr/src/|" "$OUT/x/usr/src/linux-headers-$KV/Makefile"

# gpio-sim from Debian's source; IRQ_SIM is off in Debian's kernel, so irq_sim.c is linked into
# the module, with the one call to the unexported irq_to_desc replaced.
S=linux-source-$KSER
dpkg-deb --fsys-tarfile "$OUT"/debs/linux-source-*.deb 2>/dev/null | tar -xO "./usr/src/$S.tar.xz" | xz -dc |
  tar -x -C "$OUT/mod" --strip-components=3 --occurrence=1 \
    "$S/drivers/gpio/gpio-sim.c" "$S/drivers/gpio/gpiolib.h" "$S/kernel/irq/irq_sim.c" 2>/dev/null || true
[ -f "$OUT/mod/gpio-sim.c" ] || { say "gpio-sim.c not found in $S"; exit 1; }
mv "$OUT/mod/gpio-sim.c" "$OUT/mod/gpio_sim_main.c"
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$OUT/mod/irq_sim.c"
printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio_sim_main.o irq_sim.o\n' >"$OUT/mod/Kbuild"
make -s -C "$OUT/x/usr/src/linux-headers-$KV" M="$OUT/mod" modules 2>&1 | grep -v 'Skipping BTF' >&2 || true
[ -f "$OUT/mod/gpio-sim.ko" ] || { say "gpio-sim.ko did not build"; exit 1; }

cp "$OUT/x/boot/vmlinuz-$KV" "$OUT/vmlinuz"
cp "$OUT/x/$K/fs/configfs/configfs.ko" "$OUT/x/$K/drivers/i2c/i2c-dev.ko" \
  "$OUT/x/$K/drivers/i2c/i2c-stub.ko" "$OUT/mod/gpio-sim.ko" "$OUT/modules/"
cp "$OUT/x/bin/busybox" "$OUT/busybox"
echo "$KV" >"$OUT/kernel-version"
rm -rf "$OUT/debs" "$OUT/x" # 300 MiB of packages and headers: only the results are kept
touch "$OUT/.ready"
echo "$OUT"
