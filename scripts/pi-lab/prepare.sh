#!/bin/bash
# prepare.sh - fetches, once per kernel package version, the pieces the Pi lab boots for one
# Debian architecture: Debian's own kernel (its ABI read from apt, not pinned), the board
# device trees, the kernel modules a Pi netboot needs (with their dependencies and a
# modules.dep for modprobe), busybox-static and klibc's ipconfig/nfsmount/run-init.
# Nothing runs under emulation and nothing is installed into the host.
#   scripts/pi-lab/prepare.sh ARCH [CACHE_DIR]     ARCH: arm64 | armel
# Prints the directory holding the result (cached in CACHE_DIR, default the machine-wide
# cache of scripts/lib/cache-dir.sh, under pi-lab/):
#   vmlinuz, kernel-version, dtbs/ (the package's device trees), modules/lib/modules/KV/...,
#   busybox, klibc/ (ipconfig nfsmount run-init and the klibc .so), packages (name=version).
set -euo pipefail
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
ARCH=${1:?usage: prepare.sh arm64|armel [CACHE_DIR]}
CACHE=${2:-$(sh "$PROJ/scripts/lib/cache-dir.sh" pi-lab)}
say() { echo "pi-lab: $*" >&2; }
case "$ARCH" in
arm64) META=linux-image-arm64 ;;
armel) META=linux-image-rpi ;; # the Pi 1 / Zero kernel (ARMv6)
*) say "unknown arch $ARCH"; exit 2 ;;
esac
# The modules a netbooting Pi needs: the 3B+'s LAN7515 (lan78xx), the 3B's LAN9514 (smsc95xx),
# the 4's GENET (genet, when the kernel has it as a module),
# the lab's USB gadget network (dwc2 + cdc_ether under QEMU's usb-net), the NFS client, the bay
# LED node of the gpio-led overlay and the kernel LED engine's trigger (leds-gpio,
# ledtrig-pattern); each with its dependencies (modules.dep).
MODS="lan78xx smsc95xx genet dwc2 phy-generic cdc_ether usbnet nfs nfsv3 sunrpc lockd nfs_acl leds-gpio ledtrig-pattern"

resolve() {
  KPKG=$(apt-cache depends "$META:$ARCH" 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9][^: ]*\).*/\1/p' | head -n 1)
  [ -n "$KPKG" ] || return 1
  KPKGV=$(apt-cache show "$KPKG:$ARCH" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
  [ -n "$KPKGV" ]
}
resolve || { apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || true; resolve; } ||
  { say "cannot resolve $META:$ARCH from apt (dpkg --add-architecture $ARCH; scripts/pi-lab/deps.sh)"; exit 1; }
KV=${KPKG#linux-image-}
# cached per kernel package and per version of this script (its module list, its layout)
ME=$(sha256sum "$0" | cut -c1-8)
OUT=$CACHE/$ARCH-$KV-$KPKGV-$ME
if [ -e "$OUT/.ready" ]; then echo "$OUT"; exit 0; fi
say "preparing $KPKG:$ARCH ($KPKGV) in $OUT"
rm -rf "$OUT" && mkdir -p "$OUT/debs" "$OUT/x"
download() {
  (cd "$OUT/debs" && apt-get download -q "$KPKG:$ARCH=$KPKGV" "busybox-static:$ARCH" \
    "klibc-utils:$ARCH" "libklibc:$ARCH" 2>&1 | grep -v -e unsandboxed -e '^Get:' >&2)
  [ "$(ls "$OUT/debs" | wc -l)" -ge 4 ]
}
download || {
  say "download failed; refreshing the package lists"
  apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || true
  resolve && KV=${KPKG#linux-image-} && OUT=$CACHE/$ARCH-$KV-$KPKGV-$ME &&
    rm -rf "$OUT" && mkdir -p "$OUT/debs" "$OUT/x" && download ||
    { say "cannot download the kernel packages for $ARCH"; exit 1; }
}
for d in "$OUT"/debs/*.deb; do dpkg-deb -x "$d" "$OUT/x"; done
X=$OUT/x
cp "$X/boot/vmlinuz-$KV" "$OUT/vmlinuz"
mkdir -p "$OUT/dtbs" && cp -r "$X/usr/lib/linux-image-$KV/." "$OUT/dtbs/"
# the modules and their dependencies (modules.dep of the package), with a fresh modules.dep
M=$X/lib/modules/$KV
depmod -b "$X" "$KV" # the package ships no modules.dep (its postinst makes one)
need=""
for m in $MODS; do
  f=$(find "$M/kernel" -name "$m.ko*" | head -n 1)
  [ -n "$f" ] || { say "no module $m in $KPKG (built in?)"; continue; }
  rel=${f#"$M"/}
  need="$need $rel $(sed -n "s|^$rel: ||p" "$M/modules.dep")"
done
for rel in $need; do
  mkdir -p "$OUT/modules/lib/modules/$KV/$(dirname "$rel")"
  cp "$M/$rel" "$OUT/modules/lib/modules/$KV/$rel"
done
cp "$M"/modules.order "$M"/modules.builtin* "$OUT/modules/lib/modules/$KV/" 2>/dev/null || true
depmod -b "$OUT/modules" "$KV"
cp "$X/bin/busybox" "$OUT/busybox"
mkdir -p "$OUT/klibc"
cp "$X"/usr/lib/klibc/bin/{ipconfig,nfsmount,run-init} "$OUT/klibc/"
cp "$X"/lib/klibc-*.so "$OUT/klibc/" 2>/dev/null || cp "$X"/usr/lib/klibc-*.so "$OUT/klibc/"
echo "$KV" >"$OUT/kernel-version"
for d in "$OUT"/debs/*.deb; do dpkg-deb -f "$d" Package Version | paste -sd= | tr -d ' ' | sed 's/=Version:/=/;s/^Package://'; done >"$OUT/packages"
rm -rf "$OUT/debs" "$X"
touch "$OUT/.ready"
echo "$OUT"
