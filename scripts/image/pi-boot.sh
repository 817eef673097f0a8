#!/bin/sh
# pi-boot.sh - the arm64 image's boot files, laid out for the Pi firmware, and rebuilt in
# seconds on the host whenever their own inputs change (so a change here never rebuilds the
# root, which takes minutes under qemu-user):
#   initrd.img   scripts/pi-lab/initramfs.sh with scripts/pi-lab/netboot-init.sh as /init
#   the rest     pi-boot-files.sh: raspi-firmware's bootcode.bin, start*.elf, fixup*.dat, the
#                kernel's device trees for the 64-bit Pis (bcm2837-*: 3B, 3B+, 3A+, Zero 2 W,
#                CM3; bcm2711-*: 4, 400, CM4; mainline names, config.txt says
#                upstream_kernel=1), the bay LED node built into the 3B, 3B+ and 4 trees
#   scripts/image/pi-boot.sh ROOT KERNEL_PIECES BOOT_DIR FIRMWARE      (called by build.sh;
#   FIRMWARE holds raspi-firmware unpacked: usr/lib/raspi-firmware)
set -eu
ROOT=$1; KPIECES=$2; B=$3; FWROOT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
PI=$(cd "$HERE/../pi-lab" && pwd)
STAMP=$( (cat "$0" "$HERE/pi-boot-files.sh" "$HERE/bay-led-dtb.sh" "$PI/initramfs.sh" \
  "$PI/netboot-init.sh"; basename "$KPIECES") | sha256sum | cut -c1-16)
[ "$(cat "$B/.pi-boot" 2>/dev/null)" = "$STAMP" ] && exit 0
sh "$PI/initramfs.sh" "$KPIECES" "$PI/netboot-init.sh" "$B/initrd.img"
chmod 0644 "$B/initrd.img"
sh "$HERE/pi-boot-files.sh" "$ROOT" "$B" "$FWROOT"
echo "$STAMP" >"$B/.pi-boot"
