#!/bin/sh
# initramfs.sh - builds a small initramfs on the host (never under emulation) from the pieces
# prepare.sh fetched: busybox-static, klibc's ipconfig/nfsmount/run-init, the netboot modules
# with their modules.dep, and INIT as /init; any further directories are copied on top.
#   scripts/pi-lab/initramfs.sh PREPARED_DIR INIT OUT.cpio.gz [EXTRA_DIR ...]
set -eu
P=${1:?PREPARED_DIR}; INIT=${2:?INIT}; OUT=${3:?OUT}; shift 3
T=$(mktemp -d "${TMPDIR:-/tmp}/pi-initramfs.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/sbin" "$T/lib" "$T/usr/lib/klibc/bin" "$T/proc" "$T/sys" "$T/dev" "$T/run" \
  "$T/tmp" "$T/root" "$T/etc"
cp "$P/busybox" "$T/bin/busybox"
cp "$P"/klibc/klibc-*.so "$T/lib/"
for b in ipconfig nfsmount run-init; do cp "$P/klibc/$b" "$T/usr/lib/klibc/bin/$b"; done
cp -a "$P/modules/lib/modules" "$T/lib/"
cp "$INIT" "$T/init" && chmod 0755 "$T/init"
for d in "$@"; do cp -a "$d/." "$T/"; done
(cd "$T" && find . | cpio -o -H newc --quiet --owner=0:0) | gzip -6 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
