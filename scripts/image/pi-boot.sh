#!/bin/sh
# pi-boot.sh - the arm64 image's boot files that come from its kernel, laid out for the Pi
# firmware, and rebuilt in seconds on the host whenever their own inputs change (so a change
# here never rebuilds the root, which takes many minutes under qemu-user):
#   initrd.img   scripts/pi-lab/initramfs.sh with scripts/pi-lab/netboot-init.sh as /init
#   *.dtb        the kernel's device trees for the 64-bit Pis: bcm2837-* (3B, 3B+, 3A+, Zero 2 W,
#                CM3) and bcm2711-* (4, 400, CM4), under their mainline names (config.txt says
#                upstream_kernel=1)
#   scripts/image/pi-boot.sh ROOT KERNEL_PIECES BOOT_DIR      (called by build.sh)
set -eu
ROOT=$1; KPIECES=$2; B=$3
PI=$(cd "$(dirname "$0")/../pi-lab" && pwd)
STAMP=$( (cat "$0" "$PI/initramfs.sh" "$PI/netboot-init.sh"; basename "$KPIECES") | sha256sum | cut -c1-16)
[ "$(cat "$B/.pi-boot" 2>/dev/null)" = "$STAMP" ] && exit 0
sh "$PI/initramfs.sh" "$KPIECES" "$PI/netboot-init.sh" "$B/initrd.img"
rm -f "$B"/bcm27*.dtb "$B"/bcm28*.dtb
cp "$ROOT"/usr/lib/linux-image-*/broadcom/bcm2837-*.dtb "$ROOT"/usr/lib/linux-image-*/broadcom/bcm2711-*.dtb "$B/"
chmod 0644 "$B/initrd.img" "$B"/*.dtb
echo "$STAMP" >"$B/.pi-boot"
